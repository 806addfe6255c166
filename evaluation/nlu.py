"""Intent accuracy and value-level entity precision/recall/F1 of the NLU on a labelled file."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

from rasa.shared.nlu.training_data.loading import load_data


@dataclass
class Report:
    """What the NLU got right on one file."""

    name: str
    total: int = 0
    intent_correct: int = 0
    entity_tp: int = 0
    entity_fp: int = 0
    entity_fn: int = 0
    per_intent: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: List[Tuple[str, str, str]] = field(default_factory=list)
    entity_errors: List[Tuple[str, list, list]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        """Share of utterances whose intent was right."""
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def entity_f1(self) -> float:
        """F1 over (entity, value) pairs."""
        precision = (
            self.entity_tp / (self.entity_tp + self.entity_fp)
            if self.entity_tp + self.entity_fp
            else 1.0
        )
        recall = (
            self.entity_tp / (self.entity_tp + self.entity_fn)
            if self.entity_tp + self.entity_fn
            else 1.0
        )
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def render(self) -> str:
        """A short printable report."""
        lines = [
            f"== {self.name}: {self.total} utterances",
            f"intent accuracy {self.intent_accuracy:.3f}; entity F1 {self.entity_f1:.3f} "
            f"(tp {self.entity_tp}, fp {self.entity_fp}, fn {self.entity_fn})",
        ]
        for intent, counts in sorted(self.per_intent.items()):
            lines.append(f"  {intent:26s} {counts['correct']:3d}/{counts['total']:3d}")
        lines += [f"  intent miss: {t!r} expected {e} got {g}" for t, e, g in self.errors]
        lines += [f"  entity miss: {t!r} expected {e} got {g}" for t, e, g in self.entity_errors]
        return "\n".join(lines)


def evaluate(path: Path, parse: Callable[[str], Dict[str, Any]]) -> Report:
    """Parses every example of an NLU file and compares intents and entity values."""
    data = load_data(str(path))
    report = Report(name=str(path))
    for example in data.intent_examples:
        text = example.get("text")
        expected_intent = example.get("intent")
        expected = Counter((e["entity"], str(e["value"])) for e in example.get("entities") or [])
        result = parse(text)
        got_intent = (result.get("intent") or {}).get("name")
        got = Counter((e["entity"], str(e["value"])) for e in result.get("entities") or [])
        report.total += 1
        report.per_intent[expected_intent]["total"] += 1
        if got_intent == expected_intent:
            report.intent_correct += 1
            report.per_intent[expected_intent]["correct"] += 1
        else:
            report.errors.append((text, expected_intent, got_intent))
        tp = sum((expected & got).values())
        report.entity_tp += tp
        report.entity_fp += sum(got.values()) - tp
        report.entity_fn += sum(expected.values()) - tp
        if expected != got:
            report.entity_errors.append((text, sorted(expected), sorted(got)))
    return report
