"""The review file: one entry per group, which an operator labels (an intent, or discard).

    version: 1
    groups:
    - id: g01
      conversations: 9        # distinct conversations (the ranking)
      turns: 12
      reasons: {fallback: 8, rephrase: 4}
      guess: cancel_subscription   # what the model (or the user's next try) made of it
      examples:               # scrubbed (privacy.py), deduplicated, most frequent first
      - 把连续包月停了
      intent:                 # fill in one intent of domain.yml ...
      discard: false          # ... or set this to true

Everything written passes privacy.problem first; a file that would hold a number, code,
reference or masked value is not written at all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

from evaluation.review_inbox.grouping import Group
from evaluation.review_inbox.privacy import problem
from evaluation.review_inbox.store import InboxError

VERSION = 1
MAX_EXAMPLES = 30
HEADER = """\
# Review inbox: turns the assistant did not understand, grouped, most conversations first.
# For each group set `intent:` to one of the intents listed under `intents`, or set
# `discard: true`. Delete any example line that does not belong to its group's intent.
# Examples holding a placeholder (〈手机号〉, 〈姓名〉, ...) are shown, never trained on.
# Then: python -m evaluation.review_inbox merge THIS_FILE   (docs/review_inbox.md)
"""


class PersonalDataError(InboxError):
    """Something about to be written to a review file looks like personal data."""


@dataclass
class Reviewed:
    """One group as the operator left it."""

    id: str
    intent: Optional[str]
    discard: bool
    examples: List[str]


class _Dumper(yaml.SafeDumper):
    """Writes None as an empty value, so `intent:` reads as a blank to fill in."""


_Dumper.add_representer(
    type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "")
)


def entry(rank: int, group: Group, texts: Dict[int, str]) -> Dict[str, Any]:
    """A group as an entry of the review file (`texts`: the scrubbed text of each turn, by
    the id() of its collected item)."""
    shown = Counter(texts[id(item)] for item in group.items)
    examples = [text for text, _ in sorted(shown.items(), key=lambda kv: (-kv[1], kv[0]))]
    guesses = Counter(item.meant or item.turn.guess for item in group.items)
    guesses.pop(None, None)
    guess = min(guesses, key=lambda g: (-guesses[g], g)) if guesses else None
    reasons = Counter(reason for item in group.items for reason in item.reasons)
    return {
        "id": f"g{rank:02d}",
        "conversations": group.conversations,
        "turns": group.turns,
        "reasons": dict(sorted(reasons.items())),
        "guess": guess,
        "examples": examples[:MAX_EXAMPLES],
        "intent": None,
        "discard": False,
    }


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def write(
    path: Path, entries: Sequence[Dict[str, Any]], summary: Dict[str, Any], intents: Sequence[str]
) -> None:
    """Writes the review file; PersonalDataError (and nothing written) if any text in it
    looks like a number, code, reference or masked value.

    No date is written either (a date is a run of digits to the check): the file says what
    it holds, not when; the command line that made it says from when.
    """
    document = {
        "version": VERSION,
        **summary,
        "intents": list(intents),
        "groups": list(entries),
    }
    for text in _strings(document):
        found = problem(text)
        if found:
            raise PersonalDataError(f"refusing to write the review file: {found} in a text")
    body = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + body, encoding="utf-8")


def read(path: Path) -> List[Reviewed]:
    """The groups of a review file; InboxError if it is not one."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InboxError(f"cannot read the review file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InboxError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise InboxError(f"{path} is not a review file (version {VERSION})")
    groups = document.get("groups")
    if not isinstance(groups, list):
        raise InboxError(f"{path}: `groups` is not a list")
    reviewed = []
    for position, raw in enumerate(groups, start=1):
        if not isinstance(raw, dict):
            raise InboxError(f"{path}: group {position} is not a mapping")
        examples = raw.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise InboxError(f"{path}: group {raw.get('id', position)}: examples are not texts")
        intent = raw.get("intent")
        if intent is not None and not isinstance(intent, str):
            raise InboxError(f"{path}: group {raw.get('id', position)}: intent is not a name")
        reviewed.append(
            Reviewed(
                id=str(raw.get("id") or f"#{position}"),
                intent=(intent or "").strip() or None,
                discard=raw.get("discard") is True,
                examples=[e.strip() for e in examples if e.strip()],
            )
        )
    return reviewed
