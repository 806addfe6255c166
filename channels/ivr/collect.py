"""What to collect next from the caller, and what a DTMF key press means at that point."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

# Intent payloads Rasa parses without NLU (its RegexMessageHandler handles "/intent").
AFFIRM = "/affirm"
DENY = "/deny"
HUMAN = "/request_human"
SKIP_REASON = "跳过"

# Responses (domain.yml) that close a call, hand it to a human, or report a cancellation.
CLOSING_RESPONSES = frozenset({"utter_goodbye", "utter_glad_to_help"})
HANDOFF_RESPONSE = "utter_handoff"
CANCELLED_RESPONSES = frozenset({"utter_cancelled", "utter_cancelled_receipt_failed"})
_TICKET = re.compile(r"RG\d{8}[0-9A-HJKMNP-TV-Z]{6}")
_REFERENCE = re.compile(r"TD\d{8}[0-9A-HJKMNP-TV-Z]{6}")
_NUMBERED = re.compile(r"^\s*\d+\.\s*")

# Steps at which a hang-up means the caller gave up before a cancellation was done.
FLOW_STEPS = frozenset({"greeting", "identify_membership", "phone", "code", "confirm"})


@dataclass(frozen=True)
class Option:
    """One key of a DTMF menu: the key, what it sends to the bot, and how it is announced."""

    key: str
    payload: str
    title: str


@dataclass(frozen=True)
class Collect:
    """The input to gather next: digits (how many, terminator) or a keyed menu; speech too."""

    step: str
    max_digits: int = 1
    terminator: Optional[str] = None
    options: Tuple[Option, ...] = ()
    timeout_seconds: int = 8

    @property
    def entry(self) -> bool:
        """Whether the caller is keying in a number (phone or code) rather than choosing."""
        return self.step in ("phone", "code")

    def to_json(self) -> Dict[str, Any]:
        """The platform-facing `collect` object."""
        dtmf: Dict[str, Any] = {"max_digits": self.max_digits}
        if self.terminator:
            dtmf["terminator"] = self.terminator
        if self.options:
            dtmf["keys"] = {o.key: o.title for o in self.options}
        return {
            "step": self.step,
            "input": ["speech", "dtmf"],
            "dtmf": dtmf,
            "timeout_seconds": self.timeout_seconds,
        }


@dataclass(frozen=True)
class TurnOutcome:
    """What the bot's replies of one turn mean for the call."""

    texts: List[str] = field(default_factory=list)
    closing: bool = False
    ticket: Optional[str] = None
    references: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class CallState:
    """The parts of the conversation state that decide the next input."""

    active_loop: Optional[str] = None
    requested_slot: Optional[str] = None
    next_step: Optional[str] = None
    buttons: Tuple[Dict[str, Any], ...] = ()
    caller_spoke: bool = False
    closed: bool = False
    phone_known: bool = False


def _event_name(event: Any) -> str:
    return type(event).__name__


def state_of(tracker: Any) -> CallState:
    """Reads a Rasa DialogueStateTracker: loop, requested slot, next step, latest buttons."""
    buttons: Tuple[Dict[str, Any], ...] = ()
    closed = False
    for event in reversed(tracker.events):
        if _event_name(event) == "UserUttered":
            break
        if _event_name(event) != "BotUttered":
            continue
        closed = closed or (event.metadata or {}).get("utter_action") in CLOSING_RESPONSES
        if not buttons and (event.data or {}).get("buttons"):
            buttons = tuple(event.data["buttons"])
    caller_spoke = any(
        _event_name(e) == "UserUttered" and not (e.text or "").startswith("/")
        for e in tracker.events
    )
    return CallState(
        active_loop=tracker.active_loop_name,
        requested_slot=tracker.get_slot("requested_slot") if tracker.active_loop_name else None,
        next_step=tracker.get_slot("next_step"),
        buttons=buttons,
        caller_spoke=caller_spoke,
        closed=closed,
        phone_known=bool(tracker.get_slot("phone_number")),
    )


def turn_outcome(new_events: List[Any]) -> TurnOutcome:
    """The bot utterances of one turn: texts, closing, handoff ticket, references."""
    texts: List[str] = []
    closing, ticket, references = False, None, []
    for event in new_events:
        if _event_name(event) != "BotUttered":
            continue
        text = event.text or ""
        response = (event.metadata or {}).get("utter_action")
        if text:
            texts.append(text)
        closing = closing or response in CLOSING_RESPONSES
        if response == HANDOFF_RESPONSE:
            found = _TICKET.search(text)
            ticket = found.group(0) if found else ticket
        if response in CANCELLED_RESPONSES:
            references += _REFERENCE.findall(text)
    return TurnOutcome(texts, closing, ticket, references)


def _button_options(buttons: Tuple[Dict[str, Any], ...]) -> Tuple[Option, ...]:
    """Yes/no buttons get 1 and 2; a numbered list keeps its numbers."""
    options = []
    for index, button in enumerate(buttons, 1):
        payload = str(button.get("payload") or "")
        title = _NUMBERED.sub("", str(button.get("title") or payload))
        key = {AFFIRM: "1", DENY: "2"}.get(payload, str(index))
        options.append(Option(key, payload, title))
    return tuple(options)


def next_collect(state: CallState) -> Collect:
    """Decides the next input from the conversation state."""
    slot = state.requested_slot
    if state.closed and not state.active_loop:
        return Collect("ended")
    if slot == "phone_number" and state.phone_known:
        # The code went to the caller's own number (ANI): the caller keys the code, or may
        # still give another phone, so up to 11 digits are taken.
        return Collect("code", max_digits=11, terminator="#", timeout_seconds=15)
    if slot == "phone_number":
        return Collect("phone", max_digits=11, terminator="#", timeout_seconds=15)
    if slot == "verification_code":
        return Collect("code", max_digits=6, terminator="#", timeout_seconds=15)
    if slot == "cancel_confirmed":
        confirm = (Option("1", AFFIRM, "确认取消"), Option("2", DENY, "返回"))
        return Collect("confirm", options=confirm)
    if slot == "cancel_reason":
        return Collect("reason", terminator="#", timeout_seconds=10)
    options = _button_options(state.buttons)
    if slot == "subscription_id":
        return Collect(
            "identify_membership", max_digits=2 if len(options) > 9 else 1, options=options
        )
    if state.active_loop:
        return Collect(slot or "listen")
    if options:
        return Collect(state.next_step or "menu", options=options)
    if state.next_step == "another":
        return Collect(
            "another", options=(Option("1", AFFIRM, "还要取消"), Option("2", DENY, "不用了"))
        )
    return Collect("listen" if state.caller_spoke else "greeting")


def dtmf_text(digits: str, collect: Collect) -> Optional[str]:
    """What a key press says to the bot at this step; None when it means nothing here."""
    keys = digits.rstrip("#")
    if keys == "0":
        return HUMAN
    if collect.step == "reason":
        return SKIP_REASON
    if collect.entry:
        plain = keys.replace("*", "").replace("#", "")
        return plain or None
    for option in collect.options:
        if keys == option.key:
            return option.payload
    return None
