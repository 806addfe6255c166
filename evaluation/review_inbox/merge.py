"""Merging a reviewed file into the training data, and never an evaluation utterance.

The labelled examples go to `<into>/reviewed.yml` (one file, so what the inbox added stays
apart from the hand-written data and can be read or reverted at once). An example is left
out, and said so, when it:
- holds a placeholder (personal data was hidden in it: the model must not learn 〈手机号〉);
- is, once normalised as the NLU reads it, in an evaluation file (tests/nlu_holdout.yml,
  tests/nlu_sound_alikes.yml, ../shared/eval/*.yml): evaluation must stay unseen;
- is already in the training data, or twice in the file.
Groups without a decision, or naming an intent the domain does not have, stop the merge
before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

from evaluation.review_inbox.privacy import PLACEHOLDER, problem
from evaluation.review_inbox.review_file import Reviewed, read
from evaluation.review_inbox.store import InboxError

ROOT = Path(__file__).resolve().parents[2]
REVIEWED_FILE = "reviewed.yml"
FALLBACK_INTENT = "nlu_fallback"
REVIEWED_HEADER = """\
# Written by `python -m evaluation.review_inbox merge` (docs/review_inbox.md): turns the
# assistant did not understand, labelled by an operator. Edit or delete lines freely.
"""


@dataclass
class MergeReport:
    """What a merge wrote and what it left out, by reason."""

    path: Path
    written: Dict[str, int] = field(default_factory=dict)
    discarded_groups: int = 0
    in_evaluation: List[Tuple[str, str]] = field(default_factory=list)
    already_known: int = 0
    placeholders: int = 0
    unreadable: List[str] = field(default_factory=list)

    def render(self) -> str:
        """A few lines for the operator."""
        total = sum(self.written.values())
        lines = [f"wrote {total} examples to {self.path}"]
        lines += [f"  {intent:28s} +{count}" for intent, count in sorted(self.written.items())]
        lines.append(f"groups discarded: {self.discarded_groups}")
        lines.append(f"left out, in an evaluation file: {len(self.in_evaluation)}")
        lines += [f"  {group}: {text}" for group, text in self.in_evaluation]
        lines.append(f"left out, already in the training data: {self.already_known}")
        lines.append(f"left out, personal data hidden in them: {self.placeholders}")
        if self.unreadable:
            lines.append(f"left out, not read back the same by Rasa: {len(self.unreadable)}")
        return "\n".join(lines)


def evaluation_files(root: Path = ROOT) -> List[Path]:
    """Every labelled file the assistant is evaluated on (never to be trained on)."""
    files = [root / "tests" / "nlu_holdout.yml", root / "tests" / "nlu_sound_alikes.yml"]
    shared = root.parent / "shared" / "eval"
    if shared.is_dir():
        files += sorted(shared.glob("*.yml"))
    return [path for path in files if path.is_file()]


def training_texts(path: Path) -> List[str]:
    """The example texts of an NLU file or folder, as Rasa reads them."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [m.get("text") for m in load_data(str(path)).intent_examples]


def domain_intents(domain: Path) -> Set[str]:
    """The intents a domain file (or folder of them) declares."""
    paths = sorted(domain.rglob("*.yml")) if domain.is_dir() else [domain]
    intents: Set[str] = set()
    for path in paths:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in content.get("intents") or []:
            intents.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return intents


def check_decisions(groups: Sequence[Reviewed], intents: Set[str]) -> None:
    """InboxError naming every group without a decision, with two, or with an unknown intent."""
    unfilled = [g.id for g in groups if not g.discard and not g.intent]
    both = [g.id for g in groups if g.discard and g.intent]
    unknown = sorted(
        {
            f"{g.id}: {g.intent}"
            for g in groups
            if not g.discard
            and g.intent
            and (g.intent not in intents or g.intent == FALLBACK_INTENT)
        }
    )
    problems = []
    if unfilled:
        problems.append(f"no intent and not discarded: {', '.join(unfilled)}")
    if both:
        problems.append(f"both an intent and discard: true: {', '.join(both)}")
    if unknown:
        problems.append(f"intents the domain does not have: {'; '.join(unknown)}")
    if problems:
        raise InboxError(
            "the review file is not ready to merge (nothing written):\n  " + "\n  ".join(problems)
        )


def as_read(text: str) -> str:
    """The text as the NLU reads it (normalised, typed pinyin in characters): two texts the
    classifier cannot tell apart are one example."""
    from nlu.normalize import normalize
    from nlu.pinyin_input import read_typed_pinyin

    return read_typed_pinyin(normalize(text))[0]


def merge(
    review: Path,
    into: Path,
    domain: Path = ROOT / "domain.yml",
    eval_files: Optional[Iterable[Path]] = None,
    dry_run: bool = False,
) -> MergeReport:
    """Adds the reviewed groups' examples to `<into>/reviewed.yml` (see the module's rules)."""
    if not into.is_dir():
        raise InboxError(f"no training data folder at {into}")
    groups = read(review)
    check_decisions(groups, domain_intents(domain))
    held_out = {
        as_read(t) for path in (eval_files or evaluation_files()) for t in training_texts(path)
    }
    seen = {as_read(t) for t in training_texts(into)}
    target = into / REVIEWED_FILE
    report = MergeReport(path=target)
    added: Dict[str, List[str]] = {}
    for group in groups:
        if group.discard:
            report.discarded_groups += 1
            continue
        for text in group.examples:
            key = as_read(text)
            if PLACEHOLDER.search(text) or problem(text):
                report.placeholders += 1
            elif key in held_out:
                report.in_evaluation.append((group.id, text))
            elif key in seen:
                report.already_known += 1
            else:
                seen.add(key)
                added.setdefault(group.intent, []).append(text)  # type: ignore[arg-type]
    if not dry_run and added:
        report.unreadable = _write(target, added)
    for intent, texts in added.items():
        count = len([t for t in texts if t not in report.unreadable])
        if count:
            report.written[intent] = count
    return report


def _existing(path: Path) -> Dict[str, List[str]]:
    """The examples already in a reviewed file, by intent, in order."""
    if not path.exists():
        return {}
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: Dict[str, List[str]] = {}
    for block in content.get("nlu") or []:
        lines = (block.get("examples") or "").splitlines()
        found.setdefault(block["intent"], []).extend(
            line.strip()[2:] for line in lines if line.strip().startswith("- ")
        )
    return found


def _render(by_intent: Dict[str, List[str]]) -> str:
    lines = [REVIEWED_HEADER + 'version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"


def _write(path: Path, added: Dict[str, List[str]]) -> List[str]:
    """Appends `added` to the reviewed file (atomically); returns the texts left out because
    Rasa's reader would not read them back as written (entity markup characters)."""
    by_intent = _existing(path)
    for intent, texts in added.items():
        by_intent.setdefault(intent, []).extend(texts)
    new = {t for texts in added.values() for t in texts}
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / REVIEWED_FILE
        trial.write_text(_render(by_intent), encoding="utf-8")
        readable = set(training_texts(trial))
    unreadable = sorted(t for t in new if t not in readable)
    if unreadable:
        by_intent = {i: [t for t in ts if t not in unreadable] for i, ts in by_intent.items()}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".reviewed-", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(_render(by_intent))
    os.replace(temporary, path)
    return unreadable
