"""NLU scores of one system on one labelled file, built on evaluation/nlu.py.

`score_file` runs the accuracy gates' own `evaluate` (same intent and value-level entity
rules) through a recording parser, then derives what the gates do not report: per-intent
precision/recall/F1, macro F1, per-entity precision/recall/F1 and the confusion counts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from evaluation.nlu import Report, evaluate

Pairs = Counter  # Counter of (entity, value)
MAX_ERRORS = 30


def _prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    """Precision, recall and F1; an empty denominator counts as 0."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> Dict[str, Any]:
    """Accuracy, per-intent P/R/F1 and macro F1 over the intents present in `gold`."""
    confusion = Counter(zip(gold, predicted, strict=True))
    per_intent = {}
    for intent in sorted(set(gold)):
        tp = confusion[(intent, intent)]
        fp = sum(n for (g, p), n in confusion.items() if p == intent and g != intent)
        fn = sum(n for (g, p), n in confusion.items() if g == intent and p != intent)
        per_intent[intent] = {**_prf(tp, fp, fn), "support": tp + fn}
    total = len(gold)
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    macro = sum(s["f1"] for s in per_intent.values()) / len(per_intent) if per_intent else 0.0
    return {
        "n": total,
        "accuracy": correct / total if total else 0.0,
        "macro_f1": macro,
        "per_intent": per_intent,
        "confusion": [[g, p, n] for (g, p), n in sorted(confusion.items())],
    }


def entity_scores(expected: Sequence[Pairs], got: Sequence[Pairs]) -> Dict[str, Any]:
    """Value-level P/R/F1 per entity name and overall (micro), as the gates count them."""
    counts: Dict[str, Counter] = {}
    for want, have in zip(expected, got, strict=True):
        for name in {e for e, _ in want} | {e for e, _ in have}:
            w = Counter({k: n for k, n in want.items() if k[0] == name})
            h = Counter({k: n for k, n in have.items() if k[0] == name})
            tp = sum((w & h).values())
            c = counts.setdefault(name, Counter())
            c["tp"] += tp
            c["fp"] += sum(h.values()) - tp
            c["fn"] += sum(w.values()) - tp
    per_entity = {
        name: {**_prf(c["tp"], c["fp"], c["fn"]), "tp": c["tp"], "fp": c["fp"], "fn": c["fn"]}
        for name, c in sorted(counts.items())
    }
    total = Counter()
    for c in counts.values():
        total.update(c)
    counted = {k: total[k] for k in ("tp", "fp", "fn")}
    return {"overall": {**_prf(**counted), **counted}, "per_entity": per_entity}


class RecordingParser:
    """Wraps a parse function and keeps every result, in call order."""

    def __init__(self, parse: Callable[[str], Dict[str, Any]]) -> None:
        """Keeps the wrapped function."""
        self._parse = parse
        self.results: List[Dict[str, Any]] = []

    def __call__(self, text: str) -> Dict[str, Any]:
        """Parses and records."""
        result = self._parse(text)
        self.results.append(result)
        return result


def _pairs(entities: Sequence[Dict[str, Any]]) -> Pairs:
    return Counter((e["entity"], str(e["value"])) for e in entities or [])


def gold_examples(path: Path) -> List[Tuple[str, str, Pairs]]:
    """(text, intent, entity pairs) of every example of an NLU file, in evaluation order."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [
        (m.get("text"), m.get("intent"), _pairs(m.get("entities")))
        for m in load_data(str(path)).intent_examples
    ]


def score_file(path: Path, parse: Callable[[str], Dict[str, Any]]) -> Dict[str, Any]:
    """All scores of `parse` on one file, and which examples it got right."""
    recorder = RecordingParser(parse)
    report: Report = evaluate(path, recorder)
    gold = gold_examples(path)
    if len(gold) != len(recorder.results):
        raise RuntimeError(f"{path}: {len(gold)} examples but {len(recorder.results)} parses")
    predicted = [(r.get("intent") or {}).get("name") or "None" for r in recorder.results]
    scores = intent_scores([g[1] for g in gold], predicted)
    found = [_pairs(r.get("entities")) for r in recorder.results]
    scores.update(entity_scores([g[2] for g in gold], found))
    overall = scores["overall"]
    if (
        abs(scores["accuracy"] - report.intent_accuracy) > 1e-9
        or sum(e["tp"] for e in scores["per_entity"].values()) != report.entity_tp
    ):
        raise RuntimeError(f"{path}: derived scores disagree with evaluation/nlu.py")
    # The gates' F1 counts "no entities expected, none found" as perfect; keep theirs too.
    overall["gate_f1"] = report.entity_f1
    scores["gold"] = [g[1] for g in gold]
    scores["predicted"] = predicted
    scores["correct"] = [g[1] == p for g, p in zip(gold, predicted, strict=True)]
    scores["intent_errors"] = [list(e) for e in report.errors[:MAX_ERRORS]]
    scores["entity_errors"] = [
        [text, [list(p) for p in want], [list(p) for p in have]]
        for text, want, have in report.entity_errors[:MAX_ERRORS]
    ]
    return scores


def merge_scores(parts: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The scores of several files taken together (from their stored predictions and counts)."""
    gold = [g for part in parts for g in part["gold"]]
    predicted = [p for part in parts for p in part["predicted"]]
    merged = intent_scores(gold, predicted)
    counts: Dict[str, Counter] = {}
    for part in parts:
        for name, s in part["per_entity"].items():
            counts.setdefault(name, Counter()).update({k: s[k] for k in ("tp", "fp", "fn")})
    merged["per_entity"] = {
        name: {**_prf(c["tp"], c["fp"], c["fn"]), **c} for name, c in sorted(counts.items())
    }
    total = sum(counts.values(), Counter())
    counted = {k: total[k] for k in ("tp", "fp", "fn")}
    merged["overall"] = {**_prf(**counted), **counted}
    return merged
