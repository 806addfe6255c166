"""Codes per conversation without dead ends (actions/verification.py, actions/identity.py,
actions/codes.py, actions/code_prompt.py).

A number given in a conversation is kept whatever becomes of its code (too soon, a ceiling,
a lockout, a lost SMS); the next prompt is about the code, says exactly when 重新发送 works,
and never asks for the number the conversation already has. At most one question a turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.code_prompt import ActionAskVerificationCode
from actions.forms import ValidateCancelForm, ValidateIdentityForm
from actions.holder import pending_phone
from actions.identity import ActionResendCode
from core.sms import SmsError
from core.sms.outbox import latest_code, read_outbox
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses, run_action
from turns.questions import QUESTIONS

ZHAO = "13600136000"  # the number of the reported exchange
MASKED = "136****6000"
LI = "13900139000"
FIRST, SECOND = "rest:first-tab", "rest:second-tab"
DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8"))


def _bot(response: str) -> Dict[str, Any]:
    return {"event": "bot", "text": response, "metadata": {"utter_action": response}}


def _user(text: str) -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}


def _tracker(
    sender: str,
    slots: Optional[Dict[str, Any]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    said: Optional[List[str]] = None,
    text: str = "",
) -> Tracker:
    """A conversation in cancel_form: `events` before the latest user message, `said` the
    responses the bot already gave in this turn (a validation's, before the question)."""
    latest = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    history = list(events or []) + [_user(text)] + [_bot(r) for r in said or []]
    return Tracker(
        sender_id=sender,
        slots={"requested_slot": "verification_code", **(slots or {})},
        latest_message=latest,
        events=history,
        paused=False,
        followup_action=None,
        active_loop={"name": "cancel_form"},
        latest_action_name="action_listen",
    )


def _give_number(phone: str, sender: str, form=None) -> tuple[Dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(intent="inform", text=phone, sender_id=sender)
    result = asyncio.run(
        (form or ValidateCancelForm()).validate_phone_number(phone, dispatcher, tracker, DOMAIN)
    )
    return result, dispatcher


def _give_code(code: str, sender: str, phone_slot: str = MASKED):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"phone_number": phone_slot, "requested_slot": "verification_code"},
        intent="inform",
        text=code,
        sender_id=sender,
    )
    result = asyncio.run(
        ValidateIdentityForm().validate_verification_code(code, dispatcher, tracker, DOMAIN)
    )
    return result, dispatcher


def _ask(sender: str, said: Optional[List[str]] = None, events=None) -> CollectingDispatcher:
    tracker = _tracker(sender, {"phone_number": MASKED}, events=events, said=said)
    _, dispatcher = run_action(ActionAskVerificationCode(), tracker)
    return dispatcher


def _questions(turn: List[str]) -> List[str]:
    return [r for r in turn if r in QUESTIONS]


def _sent_to(outbox: Path, phone: str) -> int:
    return sum(1 for sms in read_outbox(outbox) if sms["to"] == phone)


class _BrokenSms:
    def send(self, to: str, text: str) -> None:
        raise SmsError("gateway down")


# --- the reported exchange -----------------------------------------------------------------


def test_a_second_conversation_gets_its_own_code_and_the_number_is_kept(
    runtime, outbox_path, clock
) -> None:
    """Within the interval of a code sent elsewhere, a new conversation gets its own code;
    the first conversation's code does not work here, its own does."""
    _give_number(ZHAO, FIRST)
    first_code = latest_code(outbox_path, ZHAO)
    clock.advance(seconds=13)
    result, dispatcher = _give_number(ZHAO, SECOND)
    assert result["phone_number"] == MASKED
    assert responses(dispatcher) == ["utter_code_sent"]
    second_code = latest_code(outbox_path, ZHAO)
    assert _sent_to(outbox_path, ZHAO) == 2 and second_code != first_code
    # The question that follows is about the code, once.
    assert responses(_ask(SECOND, said=responses(dispatcher))) == ["utter_ask_verification_code"]
    wrong, said = _give_code(first_code, SECOND)
    assert wrong == {"verification_code": None}
    assert responses(said) == ["utter_wrong_code"]
    proved, said = _give_code(second_code, SECOND)
    assert proved["verified_phone"] == MASKED and responses(said) == ["utter_verified"]


def test_giving_the_number_again_too_soon_keeps_it_and_asks_for_the_code(
    runtime, outbox_path, clock
) -> None:
    """A, then B, then A again within the interval: A's code here is still the one to enter."""
    _give_number(ZHAO, FIRST)
    code = latest_code(outbox_path, ZHAO)
    clock.advance(seconds=5)
    _give_number(LI, FIRST)
    clock.advance(seconds=5)
    result, dispatcher = _give_number(ZHAO, FIRST)
    assert result["phone_number"] == MASKED
    assert responses(dispatcher) == ["utter_code_recently_sent"]
    assert dispatcher.messages[0]["seconds"] == 50
    turn = responses(dispatcher) + responses(_ask(FIRST, said=responses(dispatcher)))
    assert turn == ["utter_code_recently_sent", "utter_ask_verification_code"]
    assert "utter_ask_phone_number" not in turn and len(_questions(turn)) == 1
    proved, _ = _give_code(code, FIRST)
    assert proved["verified_phone"] == MASKED


# --- no code went out: the number stays, the way on is said ---------------------------------


def test_a_ceiling_keeps_the_number_and_resend_works_after_it(runtime, outbox_path, clock) -> None:
    for n in range(runtime.settings.codes_per_hour):
        _give_number(ZHAO, f"rest:elsewhere-{n}")
        clock.advance(seconds=1)
    result, dispatcher = _give_number(ZHAO, SECOND)
    assert result["phone_number"] == MASKED
    assert responses(dispatcher) == ["utter_code_hourly_limit"]
    assert dispatcher.messages[0]["retry_time"] == "11:00"  # 10:00 Shanghai + an hour
    # Same turn: the form's question adds nothing (the limit message said when and how).
    assert _ask(SECOND, said=["utter_code_hourly_limit"]).messages == []
    # A later turn: the code step says again when, never asks for the number.
    assert responses(_ask(SECOND)) == ["utter_code_hourly_limit"]
    # Giving a code meanwhile: no code here, and when one can come.
    kept, said = _give_code("123456", SECOND)
    assert kept == {"verification_code": None} and responses(said) == ["utter_code_hourly_limit"]
    clock.advance(hours=1)
    sent = _sent_to(outbox_path, ZHAO)
    events, said = run_action(ActionResendCode(), _tracker(SECOND, {"phone_number": MASKED}))
    assert responses(said) == ["utter_code_resent"] and events == []
    assert _sent_to(outbox_path, ZHAO) == sent + 1
    proved, _ = _give_code(latest_code(outbox_path, ZHAO), SECOND)
    assert proved["verified_phone"] == MASKED


def test_a_lost_sms_keeps_the_number_and_resend_works_at_once(runtime, outbox_path) -> None:
    working, runtime.sms = runtime.sms, _BrokenSms()
    result, dispatcher = _give_number(ZHAO, SECOND)
    assert result["phone_number"] == MASKED
    assert responses(dispatcher) == ["utter_code_sms_failed"]
    assert _ask(SECOND, said=["utter_code_sms_failed"]).messages == []
    runtime.sms = working
    _, said = run_action(ActionResendCode(), _tracker(SECOND, {"phone_number": MASKED}))
    assert responses(said) == ["utter_code_resent"]
    proved, _ = _give_code(latest_code(outbox_path, ZHAO), SECOND)
    assert proved["verified_phone"] == MASKED


def test_a_code_from_another_conversation_gets_a_clear_answer(runtime, outbox_path, clock):
    """The number is known here but no code went out here: never 请先告诉我手机号码."""
    runtime.store.remember_conversation_phone(SECOND, ZHAO)
    _give_number(ZHAO, FIRST)
    result, dispatcher = _give_code(latest_code(outbox_path, ZHAO), SECOND)
    assert result == {"verification_code": None}
    assert responses(dispatcher) == ["utter_code_not_sent_here"]
    assert dispatcher.messages[0]["masked_phone"] == MASKED
    # The form's question adds nothing this turn; a later turn gets the same clear prompt.
    assert _ask(SECOND, said=["utter_code_not_sent_here"]).messages == []
    assert responses(_ask(SECOND)) == ["utter_code_not_sent_here"]


def test_a_used_code_and_a_wait_name_the_seconds(runtime, outbox_path, clock) -> None:
    _give_number(ZHAO, SECOND)
    proved, _ = _give_code(latest_code(outbox_path, ZHAO), SECOND)
    assert proved["verified_phone"] == MASKED
    runtime.store.end_session(SECOND, "test")  # the identity went; the code is used up
    clock.advance(seconds=20)
    result, dispatcher = _give_code("123456", SECOND)
    assert responses(dispatcher) == ["utter_code_not_sent_here_wait"]
    assert dispatcher.messages[0]["seconds"] == 40


# --- the prompt itself ---------------------------------------------------------------------


def test_the_code_prompt_offers_another_way_the_third_time(runtime, outbox_path) -> None:
    _give_number(ZHAO, SECOND)
    asked_twice = [
        _user("嗯"),
        _bot("utter_ask_verification_code"),
        _user("啊"),
        _bot("utter_ask_code_again"),
    ]
    third = responses(_ask(SECOND, events=asked_twice))
    assert third[0] == "utter_other_ways" and len(_questions(third)) == 1


def test_a_form_opened_again_keeps_the_masked_number_without_a_new_code(
    runtime, outbox_path
) -> None:
    _give_number(ZHAO, SECOND)
    sent = _sent_to(outbox_path, ZHAO)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"phone_number": MASKED}, sender_id=SECOND)
    result = asyncio.run(
        ValidateCancelForm().validate_phone_number(MASKED, dispatcher, tracker, DOMAIN)
    )
    assert result == {"phone_number": MASKED} and dispatcher.messages == []
    assert _sent_to(outbox_path, ZHAO) == sent
    # A masked number that is not this conversation's is refused as before.
    other = CollectingDispatcher()
    refused = asyncio.run(
        ValidateCancelForm().validate_phone_number("139****9000", other, tracker, DOMAIN)
    )
    assert refused == {"phone_number": None} and responses(other) == ["utter_invalid_phone"]


def test_resend_after_a_flow_dropped_the_slot_uses_the_conversations_number(
    runtime, outbox_path
) -> None:
    runtime.store.remember_conversation_phone(SECOND, ZHAO)
    events, said = run_action(ActionResendCode(), make_tracker(sender_id=SECOND))
    assert responses(said) == ["utter_code_resent"]
    assert events == [{"event": "slot", "timestamp": None, "name": "phone_number", "value": MASKED}]
    assert pending_phone(make_tracker(slots={"phone_number": MASKED}, sender_id=SECOND), runtime)
    # Never given a number: then, and only then, the number is asked for.
    _, said = run_action(ActionResendCode(), make_tracker(sender_id="rest:nobody"))
    assert responses(said) == ["utter_need_phone_first"]


def test_the_wait_is_rounded_up_so_it_is_never_too_short(runtime, outbox_path, clock) -> None:
    _give_number(ZHAO, SECOND)
    clock.advance(seconds=12.5)
    _, said = run_action(ActionResendCode(), _tracker(SECOND, {"phone_number": MASKED}))
    assert responses(said) == ["utter_code_recently_sent"]
    assert said.messages[0]["seconds"] == 48  # 47.5 s to go
