"""Spoken input: tidying ASR text, and choosing the n-best hypothesis the NLU understands best."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Optional, Sequence

from channels.voice_request import Hypothesis
from core.digits import SPOKEN_DIGITS
from turns.answer import CODE, PHONE, Answer

FALLBACK_INTENT = "nlu_fallback"
_DIGIT = "0-9" + "".join(SPOKEN_DIGITS)
_PAUSE = "，,。、；;！!？?…\\s"
# Hesitations and bare interjections said between pauses. Alone they carry no answer: the
# model reads "嗯" or "啊？" (huh?) as yes, which must never confirm a cancellation, so an
# utterance made only of them counts as nothing heard. 额 only alone (it is also 金额's 额).
_FILLER = re.compile(
    rf"(?:(?<=^)|(?<=[{_PAUSE}]))"
    r"(?:嗯+哼?|呃+|额+|唔+|啊+|哦+|噢+|唉+|诶+|欸+|哎+|嘿+|哈+|那个|然后|就是说?)"
    rf"(?=[{_PAUSE}]|$)"
)
# ASR writes a number read in groups as "幺三八，零零幺三，八零零零": one number.
_DIGIT_PAUSE = re.compile(rf"(?<=[{_DIGIT}])[{_PAUSE}]+(?=[{_DIGIT}])")
_ONLY_PAUSES = re.compile(rf"^[{_PAUSE}]*$")
# A reference read aloud, "T D 二零二六 幺幺二六 九五八 三幺幺": the normaliser leaves digits
# next to letters alone (they belong to codes), so a spoken one is put back together here.
_REF_CHAR = rf"[{_DIGIT}A-Za-z]"
_SPOKEN_REFERENCE = re.compile(
    rf"(?<![A-Za-z])([TtRr])[{_PAUSE}]*([DdFfGg])((?:[{_PAUSE}]*{_REF_CHAR}){{14}})"
    rf"(?![{_PAUSE}]*{_REF_CHAR})"
)
_SPOKEN_DIGITS = str.maketrans(SPOKEN_DIGITS)

# What the last answer asks for → the entities or intents (the NLU's names) that answer it.
# The NLU's own vocabulary, read from parse results; issue 15 moves this choice into the server.
EXPECTED_ENTITIES: Dict[str, FrozenSet[str]] = {
    PHONE: frozenset({"phone_number"}),
    CODE: frozenset({"verification_code"}),
    "which_membership": frozenset({"service"}),
}
EXPECTED_INTENTS: Dict[str, FrozenSet[str]] = {
    "confirm_cancel": frozenset({"affirm", "deny"}),
}
ENTITY_BONUS = 1.0  # the entity the current question asks for: nearly decisive
OTHER_ENTITY_BONUS = 0.3  # a catalog name or number the NLU recognised: the words were heard right
INTENT_BONUS = 0.5
ASR_WEIGHT = 0.5
RANK_PENALTY = 0.05  # without confidences, the platform's order still counts a little


@dataclass(frozen=True)
class Expectation:
    """What the conversation is waiting for (from the last answer)."""

    entities: FrozenSet[str] = frozenset()
    intents: FrozenSet[str] = frozenset()


def expectation_for(answer: Optional[Answer]) -> Expectation:
    """The entities and intents that would answer what the last answer asks: a phone number,
    a code, a pick from the membership list, a yes or no to the confirmation."""
    if answer is None:
        return Expectation()
    return Expectation(
        entities=EXPECTED_ENTITIES.get(answer.expects)
        or EXPECTED_ENTITIES.get(answer.step or "", frozenset()),
        intents=EXPECTED_INTENTS.get(answer.step or "", frozenset()),
    )


def clean_asr_text(text: str) -> str:
    """Drops hesitation words and the pauses ASR puts inside spoken numbers and references."""
    previous = None
    while previous != text:  # "嗯，嗯，那个" needs one pass per filler
        previous, text = text, _FILLER.sub("", text)
    if _ONLY_PAUSES.match(text):
        return ""
    text = _SPOKEN_REFERENCE.sub(_reference, text)
    text = _DIGIT_PAUSE.sub("", text)
    return re.sub(rf"^[{_PAUSE}]+", "", text).strip()


def _reference(match: re.Match) -> str:
    body = re.sub(rf"[{_PAUSE}]", "", match.group(3)).translate(_SPOKEN_DIGITS)
    return (match.group(1) + match.group(2) + body).upper()


def score(parse: Dict[str, Any], hypothesis: Hypothesis, rank: int, expect: Expectation) -> float:
    """How well the NLU understood one hypothesis, in the light of what is being asked."""
    intent = parse.get("intent") or {}
    name = intent.get("name")
    total = 0.0 if name in (None, FALLBACK_INTENT) else float(intent.get("confidence") or 0.0)
    entities = {e.get("entity") for e in parse.get("entities") or [] if isinstance(e, dict)}
    if expect.entities & entities:
        total += ENTITY_BONUS
    total += OTHER_ENTITY_BONUS * min(2, len(entities - expect.entities))
    if name in expect.intents:
        total += INTENT_BONUS
    if hypothesis.confidence is not None:
        total += ASR_WEIGHT * hypothesis.confidence
    return total - RANK_PENALTY * rank


def choose(
    hypotheses: Sequence[Hypothesis], parses: Sequence[Dict[str, Any]], expect: Expectation
) -> int:
    """Index of the best hypothesis; the earlier one wins a tie."""
    if not hypotheses:
        raise ValueError("no hypotheses to choose from")
    scores = [
        score(p, h, i, expect) for i, (h, p) in enumerate(zip(hypotheses, parses, strict=True))
    ]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
