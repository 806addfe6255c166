"""What to collect next from the caller, and what a DTMF key press means at that point.

Decided from the turn's answer alone (turns/answer.py): what the assistant expects, the step
it asks about and the options it offers. The channel keeps one fact of its own, whether the
caller has said anything yet (the first prompt is a greeting, later ones are not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from channels import templates
from channels.options import KeyedOption, keyed, option_for
from turns.answer import AFFIRM, CHOICE_OF, CODE, DENY, PHONE, YES_OR_NO, Answer

# Intent payloads Rasa parses without NLU (its RegexMessageHandler handles "/intent").
HUMAN = "/request_human"
# What the caller "says" by pressing a key at the optional reason question.
SKIP_REASON = "跳过"

# Steps at which a hang-up means the caller gave up before a cancellation was done.
FLOW_STEPS = frozenset({"greeting", "identify_membership", "phone", "code", "confirm"})

# The answer's step (what a question is about) → the IVR step of a keyed menu.
_CONFIRM = "confirm_cancel"
_REASON = "reason"
_WHICH_MEMBERSHIP = "which_membership"
_MENU_STEPS = {"cancel_another": "another", "human": "offer_human"}
# Keys the phone always offers at these steps, whatever the question's buttons say.
_CONFIRM_KEYS = (
    KeyedOption("1", AFFIRM, templates.IVR_CONFIRM_OPTIONS[0]),
    KeyedOption("2", DENY, templates.IVR_CONFIRM_OPTIONS[1]),
)
_ANOTHER_KEYS = (
    KeyedOption("1", AFFIRM, templates.IVR_ANOTHER_OPTIONS[0]),
    KeyedOption("2", DENY, templates.IVR_ANOTHER_OPTIONS[1]),
)


@dataclass(frozen=True)
class Collect:
    """The input to gather next: digits (how many, terminator) or a keyed menu; speech too."""

    step: str
    max_digits: int = 1
    terminator: Optional[str] = None
    options: Tuple[KeyedOption, ...] = ()
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


def _menu(answer: Answer) -> Tuple[KeyedOption, ...]:
    """The answer's options as keys, when they are labelled (buttons) and can be announced."""
    options = keyed(answer.options)
    return options if any(o.title for o in options) else ()


def next_collect(answer: Optional[Answer], caller_spoke: bool) -> Collect:
    """Decides the next input from the last answer (None before the call's first one)."""
    if answer is None:
        return Collect("listen" if caller_spoke else "greeting")
    if answer.ended:
        return Collect("ended")
    if answer.expects == CODE and answer.accepts(PHONE):
        # The code went to the caller's own number (ANI): the caller keys the code, or may
        # still give another phone, so up to 11 digits are taken.
        return Collect("code", max_digits=11, terminator="#", timeout_seconds=15)
    if answer.expects == PHONE:
        return Collect("phone", max_digits=11, terminator="#", timeout_seconds=15)
    if answer.expects == CODE:
        return Collect("code", max_digits=6, terminator="#", timeout_seconds=15)
    if answer.expects == YES_OR_NO and answer.step == _CONFIRM:
        return Collect("confirm", options=_CONFIRM_KEYS)
    if answer.step == _REASON or answer.skippable:
        return Collect("reason", terminator="#", timeout_seconds=10)
    if answer.expects == CHOICE_OF and answer.step == _WHICH_MEMBERSHIP:
        options = _menu(answer)
        return Collect(
            "identify_membership", max_digits=2 if len(options) > 9 else 1, options=options
        )
    if answer.expects in (CHOICE_OF, YES_OR_NO):
        step = _MENU_STEPS.get(answer.step or "", "menu")
        options = _menu(answer) or (_ANOTHER_KEYS if step == "another" else ())
        if options:
            return Collect(step, options=options)
    return Collect("listen" if caller_spoke else "greeting")


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
    option = option_for(collect.options, keys) if keys.isdigit() else None
    return option.payload if option is not None else None
