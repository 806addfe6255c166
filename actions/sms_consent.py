"""The stricter reading of an SMS answer to "确认要取消…吗？": code words, never a bare number.

An SMS reply is typed on a keypad, often late: a digit meant for the list just sent, or the
0000/取消 keyword sent again, must not cancel a paid membership. By SMS the confirmation is
the code word (确认取消, or 确认<the number picked from the list>) or a refusal; a bare
number or a cancel keyword asks for the code word again; anything else is read as on every
channel. The input channel is only a hint for strictness here, never for authorisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from turns.code_words import code_word
from turns.questions import question
from turns.record import template_of

SMS_CHANNEL = "sms"
AFFIRM_WORDS = frozenset(
    {"确认", "确认取消", "确认退订", "确定", "确定取消", "确定退订", "Y", "YES"}
)
DENY_WORDS = frozenset(
    {"先不取消", "不取消", "暂不取消", "保留", "不", "否", "不要", "不用", "不用了", "算了"}
    | {"N", "NO"}
)
CONFIRM_STEP = "confirm_cancel"
LIST_STEP = "which_membership"
# The intent SMS's own keywords (0000, 取消, TD) are sent as: a new request, not a yes.
CANCEL_INTENT = "cancel_subscription"

_CONFIRM_NUMBER = re.compile(r"(?:确认|确定)(?:取消|退订)?(?P<number>[0-9]{1,2})")
_BARE_NUMBER = re.compile(r"[0-9]{1,2}")
_NUMBERED_TITLE = re.compile(r"^\s*\d+\s*[.、．]\s*")

Event = Dict[str, Any]


@dataclass(frozen=True)
class Reading:
    """An SMS answer to the confirmation: `confirmed` True/False, or None to ask again (with
    `picked` (number, title) when the code word named another number than the one picked)."""

    confirmed: Optional[bool] = None
    picked: Optional[Tuple[int, str]] = None


def _turns(events: Iterable[Event]) -> List[Tuple[Optional[str], List[Event]]]:
    """The conversation as (user text, bot events that answered it); the first has no text."""
    turns: List[Tuple[Optional[str], List[Event]]] = [(None, [])]
    for event in events:
        kind = event.get("event")
        if kind == "user":
            turns.append((event.get("text"), []))
        elif kind == "bot":
            turns[-1][1].append(event)
        elif kind in ("restart", "session_started"):
            turns = [(None, [])]
    return turns


def _step(bot_events: List[Event]) -> Optional[str]:
    """What the last question of a bot turn was about."""
    steps = [question(template_of(e)) for e in bot_events]
    asked = [q.about for q in steps if q is not None]
    return asked[-1] if asked else None


def _title(bot_events: List[Event], payload: str) -> Optional[str]:
    for event in bot_events:
        for button in (event.get("data") or {}).get("buttons") or []:
            if isinstance(button, dict) and str(button.get("payload")) == payload:
                return _NUMBERED_TITLE.sub("", str(button.get("title") or "")).strip()
    return None


def picked_from_list(events: Iterable[Event]) -> Optional[Tuple[int, str]]:
    """(number, title) of the list item the confirmation being answered is about: the number
    the user replied to the membership list right before the confirmation was first asked."""
    turns = _turns(events)[:-1]  # the last is the answer being read
    index = len(turns) - 1
    if index < 1 or _step(turns[index][1]) != CONFIRM_STEP:
        return None
    while index > 1 and _step(turns[index - 1][1]) == CONFIRM_STEP:
        index -= 1
    text, listed = turns[index][0] or "", turns[index - 1][1]
    if _step(listed) != LIST_STEP or not _BARE_NUMBER.fullmatch(text.strip()):
        return None
    title = _title(listed, text.strip())
    return (int(text), title) if title else None


def read_sms_confirmation(
    text: str, intent: Optional[str], events: Iterable[Event]
) -> Optional[Reading]:
    """How SMS reads an answer to the confirmation; None when it is read as anywhere else."""
    word = code_word(text)
    if word in AFFIRM_WORDS:
        return Reading(confirmed=True)
    if word in DENY_WORDS:
        return Reading(confirmed=False)
    numbered = _CONFIRM_NUMBER.fullmatch(word)
    if numbered:
        picked = picked_from_list(events)
        if picked is not None and int(numbered.group("number")) == picked[0]:
            return Reading(confirmed=True)
        return Reading(picked=picked)
    if _BARE_NUMBER.fullmatch(word):
        return Reading()  # a late answer to the list, perhaps: never a yes
    if intent == CANCEL_INTENT and text.strip().startswith("/"):
        return Reading()  # 0000 / 取消 / TD sent again: to this question it would read as yes
    return None
