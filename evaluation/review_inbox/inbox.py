"""The collect command's work: tracker store → misunderstood turns → groups → review file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from evaluation.review_inbox import review_file
from evaluation.review_inbox.collect import (
    DEFAULT_BELOW,
    DEFAULT_REPHRASE_BELOW,
    collect,
    reason_counts,
)
from evaluation.review_inbox.grouping import DEFAULT_DISTANCE, group
from evaluation.review_inbox.merge import ROOT, domain_intents, training_texts
from evaluation.review_inbox.privacy import scrub
from evaluation.review_inbox.store import open_store, read_events
from evaluation.review_inbox.turns import conversation_turns

DEFAULT_TOP = 50


@dataclass
class Collection:
    """What collect found and wrote."""

    conversations: int
    turns: int
    collected: int
    groups: int
    written: List[dict]
    left_out: int

    def render(self) -> str:
        """A few lines for the operator: the counts and the top groups."""
        lines = [
            f"read {self.turns} turns in {self.conversations} conversations; "
            f"{self.collected} not understood, in {self.groups} groups; "
            f"{len(self.written)} written",
        ]
        if self.left_out:
            lines.append(f"({self.left_out} turns of rare texts not grouped: too many texts)")
        for entry in self.written[:10]:
            lines.append(
                f"  {entry['id']}  {entry['conversations']:4d} conv.  "
                f"{entry['guess'] or '?':24s} {entry['examples'][0] if entry['examples'] else ''}"
            )
        return "\n".join(lines)


def collect_review(
    db_url: str,
    out: Path,
    since: Optional[float] = None,
    top: int = DEFAULT_TOP,
    below: float = DEFAULT_BELOW,
    distance: float = DEFAULT_DISTANCE,
    domain: Path = ROOT / "domain.yml",
    training: Path = ROOT / "data" / "nlu",
    rephrase_below: float = DEFAULT_REPHRASE_BELOW,
) -> Collection:
    """Reads the tracker store at `db_url` and writes the review file `out` (top groups)."""
    engine = open_store(db_url)
    try:
        conversations = list(conversation_turns(read_events(engine, since)))
    finally:
        engine.dispose()
    items = collect(conversations, below, rephrase_below)
    texts = {id(item): scrub(item.turn.text) for item in items}
    known = training_texts(training) if training.exists() else []
    groups, left_out = group(items, [texts[id(item)] for item in items], distance, known)
    entries = [review_file.entry(rank, g, texts) for rank, g in enumerate(groups[:top], 1)]
    counts = reason_counts(items)
    summary = {
        "conversations_read": len(conversations),
        "turns_read": sum(len(turns) for turns in conversations),
        "turns_collected": len(items),
        "reasons": {reason: counts[reason] for reason in sorted(counts)},
        "groups_found": len(groups),
    }
    intents = sorted(domain_intents(domain)) if domain.exists() else []
    review_file.write(out, entries, summary, intents)
    return Collection(
        conversations=len(conversations),
        turns=summary["turns_read"],
        collected=len(items),
        groups=len(groups),
        written=entries,
        left_out=left_out,
    )
