"""The invariants, checked after every turn of a random conversation.

A turn's responses are read from the tracker (each bot event's `metadata.utter_action`), and
judged by the shared tables of turns/ (QUESTIONS, NOT_UNDERSTOOD, OTHER_WAYS), never by text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

from actions.charge_claims import asks_for_refund
from actions.forms import says_yes as form_says_yes
from core.store.inspection import StoreState
from core.store.privacy import mask_phone
from evaluation.invariants.moves import AFFIRM, SAY, Move
from evaluation.invariants.pools import pool
from turns.questions import NOT_UNDERSTOOD, OTHER_WAYS, QUESTIONS, turn_question
from turns.record import repeats_of

# Responses that say an SMS has just gone out (a code, a receipt).
CLAIMS = frozenset(
    {"utter_code_sent", "utter_code_resent", "utter_code_sent_to_caller", "utter_cancelled"}
)
CONFIRM_CANCEL = frozenset(name for name, q in QUESTIONS.items() if q.about == "confirm_cancel")
REFUND_OFFERS = frozenset(name for name, q in QUESTIONS.items() if q.yes == "file_refund")
HANDOFF_OFFERS = frozenset(name for name, q in QUESTIONS.items() if q.yes == "handoff")
# What answers "I want to cancel Tencent Video": a step of the flow (a phone, code, membership
# or confirmation question), an answer about that membership, or a code ceiling saying when.
CANCEL_STEPS = frozenset(
    name
    for name, q in QUESTIONS.items()
    if q.flow
    and q.about in {"phone", "reference_or_phone", "code", "which_membership", "confirm_cancel"}
)
CANCEL_ANSWERS = frozenset(
    {
        "utter_already_cancelled",
        "utter_subscription_not_held",
        "utter_no_active_subscriptions",
        "utter_code_recently_sent",
        "utter_code_hourly_limit",
        "utter_code_daily_limit",
        "utter_code_source_limit",
        "utter_phone_locked",
    }
)

# Violation kinds
NOT_UNDERSTOOD_WITH_FLOW = "not_understood_with_flow_prompt"
TWO_QUESTIONS = "two_questions"
CLAIM_WITHOUT_SMS = "claim_without_sms"
UNCHOSEN_CANCELLATION = "unchosen_cancellation"
UNCHOSEN_REFUND = "unchosen_refund_case"
UNCHOSEN_TICKET = "unchosen_ticket"
PROMPT_THREE_TIMES = "prompt_three_times"
NO_WAY_TO_HUMAN = "cannot_reach_human"
NO_WAY_TO_CANCEL = "cannot_reach_cancellation"
SILENT_TURN = "silent_turn"
KINDS = (
    NOT_UNDERSTOOD_WITH_FLOW,
    TWO_QUESTIONS,
    CLAIM_WITHOUT_SMS,
    UNCHOSEN_CANCELLATION,
    UNCHOSEN_REFUND,
    UNCHOSEN_TICKET,
    PROMPT_THREE_TIMES,
    NO_WAY_TO_HUMAN,
    NO_WAY_TO_CANCEL,
    SILENT_TURN,
)


@dataclass(frozen=True)
class Violation:
    """One broken invariant: its kind and what showed it."""

    kind: str
    detail: str


@dataclass
class Turn:
    """One user turn and what it did: the responses, the SMS sent, the store before and after."""

    conversation: str
    move: Move
    text: str
    responses: List[str]
    # The question the bot's previous turn in this conversation asked (None: none).
    asked_before: Optional[str]
    events: List[Dict[str, Any]]
    slots: Dict[str, Any]
    sent: List[Dict[str, Any]]
    before: StoreState
    after: StoreState
    # Numbers the user gave in this conversation, and the sequence's own numbers.
    numbers: Sequence[str] = ()
    # A yes to a refund offer in this conversation that no refund case has used yet.
    refund_consent: bool = False
    violations: List[Violation] = field(default_factory=list)


def one_clear_answer(turn: Turn) -> List[Violation]:
    """Never a not-understood message with a flow prompt; at most one question per turn."""
    found = []
    not_understood = NOT_UNDERSTOOD.intersection(turn.responses)
    flow = [r for r in turn.responses if r in QUESTIONS and QUESTIONS[r].flow]
    if not_understood and flow:
        found.append(Violation(NOT_UNDERSTOOD_WITH_FLOW, f"{sorted(not_understood)} with {flow}"))
    questions = [r for r in turn.responses if r in QUESTIONS]
    if len(questions) > 1:
        found.append(Violation(TWO_QUESTIONS, f"{questions}"))
    return found


def _claim_targets(turn: Turn) -> List[str]:
    masks = {turn.slots.get("phone_number"), turn.slots.get("verified_phone")} - {None}
    numbers = list(dict.fromkeys(turn.numbers))
    targeted = [n for n in numbers if mask_phone(n) in masks]
    # Slots hold masked numbers; with none set, any number of the conversation will do.
    return targeted or numbers


def sms_claims(turn: Turn) -> List[Violation]:
    """Every "sent" claim has its own new outbox line to the conversation's number."""
    claims = [r for r in turn.responses if r in CLAIMS]
    if not claims:
        return []
    targets = set(_claim_targets(turn))
    lines = [line for line in turn.sent if line.get("to") in targets]
    if len(lines) >= len(claims):
        return []
    return [
        Violation(
            CLAIM_WITHOUT_SMS,
            f"{claims} but {len(lines)} new SMS to {[mask_phone(t) for t in targets]}"
            f" ({len(turn.sent)} in all)",
        )
    ]


def _said_from(move: Move, text: str, intent: str) -> bool:
    # A text counts as drawn from every pool it is an example of (a literal text of a
    # regression test, a cooperative answer, an example shared by two intents).
    if move.kind == (AFFIRM if intent == AFFIRM else SAY + intent):
        return True
    return any(u.template == text for u in pool(intent))


def says_yes(move: Move, text: str) -> bool:
    """Whether the user's message was drawn from the yes (affirm) pool."""
    return _said_from(move, text, AFFIRM)


def confirms_cancel(move: Move, text: str) -> bool:
    """Whether the message answers 确认要取消…吗 with a yes: from the yes pool, or the user's
    own cancel request said again in words that say yes and name no membership (取消自动续费),
    which the dialogue takes for the yes (actions.forms.says_yes; a named one is asked about)."""
    if says_yes(move, text):
        return True
    return _said_from(move, text, "cancel_subscription") and form_says_yes(text)


def asks_for_human(move: Move, text: str) -> bool:
    """Whether the user's message was drawn from the request_human pool."""
    return _said_from(move, text, "request_human")


def consents_to_refund(move: Move, text: str, asked_before: Optional[str]) -> bool:
    """Whether the message answers a refund offer with a yes, or by asking for the refund in
    words (actions.charge_claims.asks_for_refund, what the dialogue takes for its yes)."""
    if asked_before not in REFUND_OFFERS:
        return False
    return says_yes(move, text) or asks_for_refund(text)


def chosen_effects(turn: Turn) -> List[Violation]:
    """No cancellation, refund case or ticket the user did not choose in this turn."""
    found = []
    yes = says_yes(turn.move, turn.text)
    cancelled = set(turn.after.cancellations) - set(turn.before.cancellations)
    stopped = {
        sub
        for sub, (status, renew) in turn.after.subscriptions.items()
        if turn.before.subscriptions.get(sub, (status, renew)) != (status, renew)
    }
    confirmed = confirms_cancel(turn.move, turn.text) and turn.asked_before in CONFIRM_CANCEL
    if (cancelled or stopped) and not confirmed:
        found.append(
            Violation(
                UNCHOSEN_CANCELLATION,
                f"{len(cancelled)} cancellation(s), {len(stopped)} membership(s) changed "
                f"after {turn.move.kind} answering {turn.asked_before}",
            )
        )
    refunds = set(turn.after.refund_cases) - set(turn.before.refund_cases)
    consent = turn.refund_consent or consents_to_refund(turn.move, turn.text, turn.asked_before)
    if refunds and not consent:
        found.append(
            Violation(
                UNCHOSEN_REFUND,
                f"{len(refunds)} refund case(s) after {turn.move.kind} answering "
                f"{turn.asked_before} (no yes to a refund offer before)",
            )
        )
    tickets = set(turn.after.tickets) - set(turn.before.tickets)
    asked_human = asks_for_human(turn.move, turn.text) or (
        yes and turn.asked_before in HANDOFF_OFFERS
    )
    if tickets and not asked_human:
        found.append(
            Violation(
                UNCHOSEN_TICKET,
                f"{len(tickets)} ticket(s) after {turn.move.kind} answering {turn.asked_before}",
            )
        )
    return found


def other_ways(turn: Turn) -> List[Violation]:
    """The third time in a row the same prompt comes, another way comes with it."""
    prompt = turn_question(turn.responses)
    if prompt is None or OTHER_WAYS.intersection(turn.responses):
        return []
    before = repeats_of(turn.events, prompt)
    if before >= 2:
        return [Violation(PROMPT_THREE_TIMES, f"{prompt} for the {before + 1}th time in a row")]
    return []


def an_answer(turn: Turn) -> List[Violation]:
    """Every message gets an answer (silence reads as a hang; the channel papers over it)."""
    return [] if turn.responses else [Violation(SILENT_TURN, "no response at all")]


def check_turn(turn: Turn) -> List[Violation]:
    """Every per-turn invariant."""
    return (
        an_answer(turn)
        + one_clear_answer(turn)
        + sms_claims(turn)
        + chosen_effects(turn)
        + other_ways(turn)
    )


def reaches_human(responses: Iterable[str]) -> bool:
    """Whether "转人工" got the handoff."""
    return "utter_handoff" in set(responses)


def reaches_cancellation(responses: Iterable[str]) -> bool:
    """Whether "我要取消腾讯视频会员" started (or answered) a cancellation."""
    return bool(set(responses) & (CANCEL_STEPS | CANCEL_ANSWERS))
