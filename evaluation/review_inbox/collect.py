"""Which turns an operator should see: the ones the assistant did not understand.

A turn was misunderstood when it hit the fallback (the NLU's fallback intent or a fallback
action in answer), when the bot answered that it did not understand, or when the user's next
message corrects the bot (不是 / 不对 / 我不是这个意思, not as the answer to a yes/no question).
Each collected turn keeps its reasons:
- fallback: the fallback intent or action;
- low_confidence: the classifier's best intent below a threshold;
- corrected: the user said right after that the bot got it wrong;
- rephrase: the user's next try right after a misunderstanding (a pure 不是 skipped), when
  that was not understood with confidence either (`rephrase_below`, stricter): users
  saying again what they meant, in words the model may not know;
- handoff: a request for a person right after a misunderstanding (the assistant lost them).
A rephrasing that was understood names what the misunderstood turn meant (the group's guess).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, List, Optional

from evaluation.review_inbox.turns import Turn

DEFAULT_BELOW = 0.6
DEFAULT_REPHRASE_BELOW = 0.9
# Responses that tell the user they were not understood (turns/questions.py's NOT_UNDERSTOOD
# and a few more of domain.yml), and Rasa's defaults.
NOT_UNDERSTOOD = frozenset(
    {
        "utter_rephrase",
        "utter_offer_human",
        "utter_ok_rephrase",
        "utter_choice_not_understood",
        "utter_default",
        "utter_ask_rephrase",
    }
)
HANDOFF_INTENTS = frozenset({"request_human"})
HANDOFF_ACTIONS = frozenset({"action_handoff"})
# A second try answering a question (好的 / 不用了) or small talk says nothing of the first.
NO_MEANING = HANDOFF_INTENTS | {"affirm", "deny", "greet", "goodbye", "thank", "nlu_fallback"}
REASONS = ("fallback", "low_confidence", "corrected", "rephrase", "handoff")
# The user telling the bot it got them wrong. `_PURE` is a correction and nothing else.
_CORRECTION = re.compile(r"^(?:我?不是|不对|错了|你理解错|你搞错|我是说|我说的是)")
_PURE = re.compile(
    r"^(?:我?不是(?:这个|那个)?(?:意思)?|不对|错了|你理解错了?|你搞错了?)"
    r"[啊呀呢吧的啦了哦，。！!,.\s]*$"
)
# Questions a 不是 may simply answer.
_ANSWERABLE = frozenset({"yes_no", "choice"})


@dataclass
class Collected:
    """A turn to review, why, and (when the user said it again and was understood then)
    what the user meant according to that next try."""

    turn: Turn
    reasons: List[str] = field(default_factory=list)
    meant: Optional[str] = None


def _corrects(turn: Turn) -> bool:
    """Whether `turn` tells the bot it got the previous message wrong."""
    return bool(_CORRECTION.match(turn.text)) and turn.bot_expects not in _ANSWERABLE


def _misunderstood(turns: List[Turn], i: int) -> bool:
    following = turns[i + 1] if i + 1 < len(turns) else None
    return turns[i].hit_fallback or (
        following is not None
        and (
            following.bot_before in NOT_UNDERSTOOD
            or following.bot_not_understood
            or _corrects(following)
        )
    )


def _next_try(turns: List[Turn], i: int) -> Optional[int]:
    """The user's next try after a misunderstanding at `i`: the next turn, or the one after
    it when the next one only says 不是."""
    j = i + 1
    if j < len(turns) and _PURE.match(turns[j].text):
        j += 1
    return j if j < len(turns) else None


def collect(
    conversations: Iterable[List[Turn]],
    below: float = DEFAULT_BELOW,
    rephrase_below: float = DEFAULT_REPHRASE_BELOW,
) -> List[Collected]:
    """The turns of `conversations` that show a misunderstanding, with their reasons."""
    found: List[Collected] = []
    for turns in conversations:
        missed = [_misunderstood(turns, i) for i in range(len(turns))]
        tries = {_next_try(turns, i): i for i in range(len(turns)) if missed[i]}
        for i, turn in enumerate(turns):
            reasons = []
            if turn.hit_fallback:
                reasons.append("fallback")
            elif turn.guess_confidence is not None and turn.guess_confidence < below:
                reasons.append("low_confidence")
            following = turns[i + 1] if i + 1 < len(turns) else None
            if following is not None and _corrects(following):
                reasons.append("corrected")
            retry = i in tries
            unsure = turn.hit_fallback or (turn.confidence or 0.0) < rephrase_below
            if retry and unsure and not _PURE.match(turn.text):
                reasons.append("rephrase")
            asks_person = turn.intent in HANDOFF_INTENTS or not HANDOFF_ACTIONS.isdisjoint(
                turn.actions_after
            )
            if retry and asks_person:
                reasons.append("handoff")
            if not reasons or (_PURE.match(turn.text) and "handoff" not in reasons):
                continue
            item = Collected(turn, reasons)
            if missed[i]:
                item.meant = _meant(turns, _next_try(turns, i), below)
            found.append(item)
    return found


def _meant(turns: List[Turn], j: Optional[int], below: float) -> Optional[str]:
    """The intent of the user's next try, if it was understood and says what they meant."""
    if j is None:
        return None
    again = turns[j]
    if again.hit_fallback or (again.confidence or 0.0) < below or again.intent in NO_MEANING:
        return None
    return again.intent


def reason_counts(items: Iterable[Collected]) -> Counter:
    """How many turns carry each reason."""
    return Counter(reason for item in items for reason in item.reasons)
