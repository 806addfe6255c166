"""Every question the assistant asks: its kind, what it is about, and what yes and no do.

One table for the dialogue (reading a short answer), the checks of a turn (one question at
most, never with a not-understood message) and the channels (how to offer the answer).
Keys are response names of domain.yml; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, Optional

YES_NO = "yes_no"
CHOICE = "choice"
OPEN = "open"


@dataclass(frozen=True)
class Question:
    """One question: `kind` is yes_no | choice | open; `flow` marks a step of a flow."""

    kind: str
    about: str
    flow: bool = False
    # What a bare yes and a bare no mean here (see actions/short_answer.py for the moves).
    yes: Optional[str] = None
    no: Optional[str] = None


def _q(kind: str, about: str, flow: bool = False, yes: str = None, no: str = None) -> Question:
    return Question(kind, about, flow, yes, no)


QUESTIONS: Dict[str, Question] = {
    # open questions of the conversation itself
    "utter_greet": _q(OPEN, "what_for", yes="how_can_help", no="close"),
    "utter_how_can_help": _q(OPEN, "what_for", yes="how_can_help", no="close"),
    "utter_ok_rephrase": _q(OPEN, "what_for", yes="how_can_help", no="close"),
    "utter_rephrase": _q(OPEN, "rephrase", yes="how_can_help", no="close"),
    "utter_you_are_welcome": _q(YES_NO, "anything_else", yes="how_can_help", no="goodbye"),
    "utter_offer_human": _q(YES_NO, "human", yes="handoff", no="ok_rephrase"),
    "utter_ask_another": _q(YES_NO, "cancel_another", yes="cancel", no="close"),
    "utter_subscriptions_total": _q(CHOICE, "which_to_cancel", yes="cancel", no="close"),
    "utter_refund_offer": _q(YES_NO, "refund", yes="file_refund", no="no_refund"),
    # steps of a flow (a form's requested slot)
    "utter_ask_phone_number": _q(OPEN, "phone", flow=True),
    "utter_ask_phone_number_for_cancel": _q(OPEN, "phone", flow=True),
    "utter_ask_phone_number_generic_cancel": _q(OPEN, "phone", flow=True),
    "utter_ask_phone_for_check": _q(OPEN, "phone", flow=True),
    "utter_ask_phone_for_charge": _q(OPEN, "phone", flow=True),
    "utter_ask_phone_again": _q(OPEN, "phone", flow=True),
    "utter_ask_reference_or_phone": _q(OPEN, "reference_or_phone", flow=True),
    "utter_code_sent_to_caller": _q(OPEN, "code", flow=True),
    "utter_ask_verification_code": _q(OPEN, "code", flow=True),
    "utter_ask_code_again": _q(OPEN, "code", flow=True),
    "utter_code_not_sent_here": _q(OPEN, "code", flow=True),
    "utter_code_not_sent_here_wait": _q(OPEN, "code", flow=True),
    "utter_subscription_list": _q(CHOICE, "which_membership", flow=True),
    "utter_ask_choice_again": _q(CHOICE, "which_membership", flow=True),
    "utter_ask_cancel_confirmed": _q(YES_NO, "confirm_cancel", flow=True),
    "utter_ask_confirm_again": _q(YES_NO, "confirm_cancel", flow=True),
    "utter_ask_cancel_reason": _q(OPEN, "reason", flow=True),
    "utter_ask_reason_again": _q(OPEN, "reason", flow=True),
}

# Offers made in passing ("我可以帮您取消"): not questions (a turn may hold one beside its
# question), but a bare yes or no right after one answers it.
OFFERS: Dict[str, Question] = {
    "utter_charge_explained": _q(YES_NO, "offer_cancel", yes="cancel", no="close"),
    "utter_legal_rights": _q(YES_NO, "offer_cancel", yes="cancel", no="close"),
    "utter_cancel_methods": _q(YES_NO, "offer_cancel", yes="cancel", no="close"),
    "utter_cancellation_status_brief": _q(OPEN, "phone_for_details"),
}

# Messages saying the last input was not understood.
NOT_UNDERSTOOD: FrozenSet[str] = frozenset({"utter_rephrase", "utter_offer_human"})

# Messages that offer another way forward (a human, the operator's own channels).
OTHER_WAYS: FrozenSet[str] = frozenset(
    {
        "utter_other_ways",
        "utter_offer_human",
        "utter_handoff",
        "utter_code_hourly_limit",
        "utter_code_daily_limit",
        "utter_code_source_limit",
        "utter_code_sms_failed",
        "utter_phone_locked",
        "utter_proxy_ways",
    }
)


def question(template: Optional[str]) -> Optional[Question]:
    """The question (or offer) a response makes, or None when it asks nothing."""
    return QUESTIONS.get(template or "") or OFFERS.get(template or "")


def turn_question(templates: Iterable[str], offers: bool = False) -> Optional[str]:
    """The question one turn asked: its last response that is a question, or None.

    With `offers`, a turn without a question answers with its last offer, if any.
    """
    asked = offered = None
    for template in templates:
        if template in QUESTIONS:
            asked = template
        elif template in OFFERS:
            offered = template
    return asked if asked is not None or not offers else offered


def same_prompt(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two questions ask for the same thing (wordings of one prompt count as one)."""
    if a is None or b is None:
        return False
    qa, qb = QUESTIONS.get(a), QUESTIONS.get(b)
    if qa is None or qb is None:
        return a == b
    return (qa.kind, qa.about) == (qb.kind, qb.about)
