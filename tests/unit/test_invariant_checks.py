"""evaluation/invariants: the per-turn checks on hand-made turns, the pools and the moves' texts."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from core.store.inspection import StoreState
from evaluation.invariants import checks
from evaluation.invariants.moves import (
    AFFIRM,
    CODE_RIGHT,
    NOISE_KIND,
    PHONE_INVALID,
    SAY,
    Move,
    Numbers,
    said,
    text_of,
)
from evaluation.invariants.pools import pool, utterances
from evaluation.invariants.runner import numbers_in, responses_of_last_turn

OWN, OTHER = "13912345678", "13698765432"
EMPTY = StoreState(
    cancellations={}, subscriptions={1: ("active", True)}, refund_cases={}, tickets={}
)


def bot(name: str) -> Dict[str, Any]:
    return {"event": "bot", "text": name, "metadata": {"utter_action": name}}


def user(text: str = "x") -> Dict[str, Any]:
    return {"event": "user", "text": text}


def turn(
    responses: List[str],
    move: Move = Move(NOISE_KIND),
    asked_before: Optional[str] = None,
    after: StoreState = EMPTY,
    sent: Optional[List[dict]] = None,
    history: Optional[List[List[str]]] = None,
    slots: Optional[dict] = None,
) -> checks.Turn:
    events: List[Dict[str, Any]] = []
    for earlier in history or []:
        events += [user()] + [bot(name) for name in earlier]
    events += [user()] + [bot(name) for name in responses]
    return checks.Turn(
        conversation="c",
        move=move,
        text="x",
        responses=responses,
        asked_before=asked_before,
        events=events,
        slots=slots or {},
        sent=sent or [],
        before=EMPTY,
        after=after,
        numbers=[OWN, OTHER],
    )


def kinds(t: checks.Turn) -> List[str]:
    return [v.kind for v in checks.check_turn(t)]


def test_a_clear_turn_passes() -> None:
    assert kinds(turn(["utter_verified", "utter_subscription_list"])) == []


def test_not_understood_with_a_flow_prompt_and_two_questions() -> None:
    assert kinds(turn(["utter_rephrase", "utter_ask_verification_code"])) == [
        checks.NOT_UNDERSTOOD_WITH_FLOW,
        checks.TWO_QUESTIONS,
    ]
    assert kinds(turn(["utter_greet", "utter_ask_phone_number"])) == [checks.TWO_QUESTIONS]


def test_a_silent_turn() -> None:
    assert kinds(turn([])) == [checks.SILENT_TURN]


def test_a_sent_claim_needs_its_sms_to_the_conversations_number() -> None:
    claim = ["utter_code_sent", "utter_ask_verification_code"]
    slots = {"phone_number": "139****5678"}
    assert kinds(turn(claim, slots=slots)) == [checks.CLAIM_WITHOUT_SMS]
    assert kinds(turn(claim, slots=slots, sent=[{"to": OTHER, "text": "…"}])) == [
        checks.CLAIM_WITHOUT_SMS
    ]
    assert kinds(turn(claim, slots=slots, sent=[{"to": OWN, "text": "…"}])) == []


def test_a_cancellation_only_after_a_yes_to_the_confirmation() -> None:
    cancelled = StoreState(
        cancellations={"TD1": 1},
        subscriptions={1: ("cancelled", False)},
        refund_cases={},
        tickets={},
    )
    done = ["utter_cancelled"]
    sms = [{"to": OWN, "text": "…"}]
    yes = Move(AFFIRM)
    assert kinds(turn(done, yes, "utter_ask_cancel_confirmed", after=cancelled, sent=sms)) == []
    assert kinds(turn(done, Move(NOISE_KIND), "utter_ask_cancel_confirmed", cancelled, sms)) == [
        checks.UNCHOSEN_CANCELLATION
    ]
    assert kinds(turn(done, yes, "utter_subscription_list", after=cancelled, sent=sms)) == [
        checks.UNCHOSEN_CANCELLATION
    ]


def test_a_refund_case_only_after_a_yes_to_the_offer_and_a_ticket_only_when_asked() -> None:
    refund = StoreState(
        cancellations={}, subscriptions=EMPTY.subscriptions, refund_cases={"RF1": "c"}, tickets={}
    )
    ticket = StoreState(
        cancellations={}, subscriptions=EMPTY.subscriptions, refund_cases={}, tickets={"RG1": "c"}
    )
    yes = Move(AFFIRM)
    assert kinds(turn(["utter_refund_case_opened"], yes, "utter_refund_offer", after=refund)) == []
    assert kinds(turn(["utter_refund_case_opened"], yes, None, after=refund)) == [
        checks.UNCHOSEN_REFUND
    ]
    in_words = turn(["utter_refund_case_opened"], Move(NOISE_KIND), "utter_refund_offer", refund)
    in_words.text = "帮我申请退款吧"
    assert kinds(in_words) == []
    late = turn(
        ["utter_refund_case_opened"], Move(CODE_RIGHT), "utter_ask_verification_code", refund
    )
    late.refund_consent = True  # a yes earlier in the conversation, not used yet
    assert kinds(late) == []
    assert kinds(turn(["utter_handoff"], Move(SAY + "request_human"), after=ticket)) == []
    assert kinds(turn(["utter_handoff"], yes, "utter_offer_human", after=ticket)) == []
    assert kinds(turn(["utter_handoff"], Move(NOISE_KIND), "utter_how_can_help", ticket)) == [
        checks.UNCHOSEN_TICKET
    ]


def test_the_third_same_prompt_needs_another_way() -> None:
    ask = "utter_ask_verification_code"
    twice = [["utter_code_sent", ask], ["utter_invalid_code_format", ask]]
    assert kinds(turn(["utter_invalid_code_format", ask], history=twice[:1])) == []
    assert kinds(turn(["utter_invalid_code_format", ask], history=twice)) == [
        checks.PROMPT_THREE_TIMES
    ]
    assert kinds(turn(["utter_other_ways", ask], history=twice)) == []


def test_reaching_a_human_and_a_cancellation() -> None:
    assert checks.reaches_human(["utter_handoff"])
    assert not checks.reaches_human(["utter_verification_expired", "utter_ask_phone_number"])
    assert checks.reaches_cancellation(
        ["utter_privacy_notice", "utter_ask_phone_number_for_cancel"]
    )
    assert checks.reaches_cancellation(["utter_ask_cancel_confirmed"])
    assert not checks.reaches_cancellation([])
    assert not checks.reaches_cancellation(["utter_rephrase"])


def test_the_responses_of_the_last_turn() -> None:
    events = [user(), bot("utter_greet"), user(), bot("utter_code_sent"), bot("x")]
    assert responses_of_last_turn(events) == ["utter_code_sent", "x"]
    assert responses_of_last_turn([*events, user()]) == []


def test_pools_come_from_the_training_data_with_numbers_and_codes_as_placeholders() -> None:
    assert set(utterances()) >= {"affirm", "deny", "cancel_subscription", "request_human"}
    assert all("{phone}" in u.template for u in pool("inform", ("phone",)))
    assert all("{code}" in u.template for u in pool("inform", ("code",)))
    # No demo number is left in a text said as it is.
    for items in utterances().values():
        for u in items:
            if not u.needs:
                assert "13800138000" not in u.template.replace(" ", "")


def test_moves_become_texts_with_the_sequences_numbers() -> None:
    numbers = Numbers(own=OWN, other=OTHER, unknown="15011112222")
    assert text_of(Move(CODE_RIGHT, 0), numbers, "123456") == "123456"
    assert OWN not in text_of(Move(PHONE_INVALID, 0), numbers, None)
    moves = said("我要取消", "{own}", "<switch>", "验证码{code}")
    assert [text_of(m, numbers, "654321") for m in moves if m.kind != "switch"] == [
        "我要取消",
        OWN,
        "验证码654321",
    ]
    assert numbers_in(moves[1], numbers) == [OWN]
