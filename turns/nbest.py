"""Choosing among a spoken turn's ASR hypotheses: the reading that best answers what the
dialogue is waiting for. Pure: no Rasa; the server's feature (rasa_patches/nbest.py) parses
each hypothesis and reads the dialogue's state, this module only compares.

A spoken channel passes its recogniser's n-best list on in the message metadata under
`asr_hypotheses` ([{"text": str, "confidence": number | null}], best first; the first is also
the message text) and never parses or scores them itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence

ASR_HYPOTHESES = "asr_hypotheses"  # the metadata key a spoken channel fills
# The parse data key recording the choice: {"chosen": i, "n": k, "confidence": c}.
ASR_CHOICE = "asr"
MAX_PARSED = 5  # each hypothesis costs one NLU parse; the tail is rarely the right one
FALLBACK_INTENT = "nlu_fallback"

# The slot a form asks for → the NLU entities or intents that answer it. The dialogue's and
# the NLU's names (domain.yml), read from the tracker by the server, never by a channel.
EXPECTED_ENTITIES: Dict[str, FrozenSet[str]] = {
    "phone_number": frozenset({"phone_number"}),
    "verification_code": frozenset({"verification_code"}),
    "subscription_id": frozenset({"service"}),
}
EXPECTED_INTENTS: Dict[str, FrozenSet[str]] = {
    "subscription_id": frozenset({"inform"}),  # a pick from the list: 第二个, 选一
    "cancel_confirmed": frozenset({"affirm", "deny"}),
}
ENTITY_BONUS = 1.0  # the entity the current question asks for: nearly decisive
OTHER_ENTITY_BONUS = 0.3  # a catalog name or number the NLU recognised: the words were heard right
INTENT_BONUS = 0.5
ASR_WEIGHT = 0.5
RANK_PENALTY = 0.05  # without confidences, the platform's order still counts a little


@dataclass(frozen=True)
class Hypothesis:
    """One ASR reading of what the user said, with the recogniser's confidence if it gave one."""

    text: str
    confidence: Optional[float] = None


@dataclass(frozen=True)
class Expectation:
    """What the dialogue is waiting for: entities or intents that would answer it."""

    entities: FrozenSet[str] = frozenset()
    intents: FrozenSet[str] = frozenset()


def expectation_for(active_loop: Optional[str], requested_slot: Optional[str]) -> Expectation:
    """What answers the slot the active form asks for (nothing particular outside a form:
    a requested slot left over without an active loop asks nothing)."""
    slot = (requested_slot or "") if active_loop else ""
    return Expectation(
        entities=EXPECTED_ENTITIES.get(slot, frozenset()),
        intents=EXPECTED_INTENTS.get(slot, frozenset()),
    )


def as_metadata(hypotheses: Sequence[Hypothesis]) -> List[Dict[str, Any]]:
    """The hypotheses as a channel puts them under `asr_hypotheses`."""
    return [{"text": h.text, "confidence": h.confidence} for h in hypotheses]


def _confidence(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def hypotheses_of(metadata: Optional[Mapping[str, Any]]) -> List[Hypothesis]:
    """The hypotheses a message's metadata carries ([] when none or malformed: then the
    message's own text is all there is)."""
    raw = (metadata or {}).get(ASR_HYPOTHESES) if isinstance(metadata, Mapping) else None
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
            return []
        text = item["text"].strip()
        if text:
            found.append(Hypothesis(text, _confidence(item.get("confidence"))))
    return found


def score(
    parse: Mapping[str, Any], hypothesis: Hypothesis, rank: int, expect: Expectation
) -> float:
    """How well the NLU understood one hypothesis, in the light of what is being asked."""
    intent = parse.get("intent") or {}
    name = intent.get("name")
    total = 0.0 if name in (None, FALLBACK_INTENT) else float(intent.get("confidence") or 0.0)
    entities = {e.get("entity") for e in parse.get("entities") or [] if isinstance(e, Mapping)}
    if expect.entities & entities:
        total += ENTITY_BONUS
    total += OTHER_ENTITY_BONUS * min(2, len(entities - expect.entities))
    if name in expect.intents:
        total += INTENT_BONUS
    if hypothesis.confidence is not None:
        total += ASR_WEIGHT * hypothesis.confidence
    return total - RANK_PENALTY * rank


def choose(
    hypotheses: Sequence[Hypothesis], parses: Sequence[Mapping[str, Any]], expect: Expectation
) -> int:
    """Index of the best hypothesis; the earlier one wins a tie."""
    if not hypotheses:
        raise ValueError("no hypotheses to choose from")
    scores = [
        score(p, h, i, expect) for i, (h, p) in enumerate(zip(hypotheses, parses, strict=True))
    ]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
