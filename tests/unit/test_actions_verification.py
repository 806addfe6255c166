"""Who the user is: phone, SMS code, resend limits, lockout, expiry (actions/verification.py,
actions/identity.py, actions/holder.py, actions/codes.py)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Dict, List

import pytest
from rasa_sdk.events import Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateIdentityForm
from actions.holder import channel_identity, clean_phone, touch_verification, verified_phone
from actions.identity import ActionAskPhoneNumber, ActionResendCode, ActionRestart
from actions.verification import CODE_PLACEHOLDER
from core.identity import assertion
from core.sms import SmsError
from core.sms.outbox import read_outbox
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import run_action, verified_slots

ZHANG = "13800138000"
LI = "13900139000"
MASKED_ZHANG = "138****8000"


def _codes_to(outbox_path, phone: str) -> List[str]:
    """Every 6-digit code sent to `phone`, oldest first."""
    codes = []
    for record in read_outbox(outbox_path):
        if record["to"] == phone:
            codes.extend(re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", record["text"]))
    return codes


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _validate_phone(value: Any, tracker=None) -> tuple[Dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = tracker or make_tracker(intent="inform", text=str(value))
    result = asyncio.run(
        ValidateIdentityForm().validate_phone_number(value, dispatcher, tracker, {})
    )
    return result, dispatcher


def _validate_code(code: str, phone: str = ZHANG, sender_id: str = "test-user", **slots: Any):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"phone_number": phone, "requested_slot": "verification_code", **slots},
        intent="inform",
        text=code,
        sender_id=sender_id,
    )
    result = asyncio.run(
        ValidateIdentityForm().validate_verification_code(code, dispatcher, tracker, {})
    )
    return result, dispatcher


# --- clean_phone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 138 0013 8000 ", "13800138000"),
        ("12800138000", None),  # no mobile number starts with 12
        ("1380013800", None),  # ten digits
        ("138001380001", None),  # twelve digits
        ("1380013800a", None),
        ("", None),
        (None, None),
        (13800138000, None),  # not a string
    ],
)
def test_clean_phone_table(raw: Any, expected: Any) -> None:
    """clean_phone keeps 11-digit mobile numbers in any written form and refuses the rest."""
    assert clean_phone(raw) == expected


# --- the phone number ----------------------------------------------------------------------


def test_invalid_phone_is_refused_without_sending_anything(runtime, outbox_path) -> None:
    """An invalid number gets utter_invalid_phone, no slot value and no SMS."""
    result, dispatcher = _validate_phone("1234567")
    assert result == {"phone_number": None}
    assert _responses(dispatcher) == ["utter_invalid_phone"]
    assert read_outbox(outbox_path) == []


def test_valid_phone_sends_a_code_to_that_number(runtime, outbox_path) -> None:
    """A valid number gets a 6-digit code by SMS and utter_code_sent with the masked number."""
    result, dispatcher = _validate_phone("+86 138 0013 8000")
    assert result == {
        "phone_number": MASKED_ZHANG,
        "verification_code": None,
        "verified_phone": None,
        "verified_at": None,
    }
    outbox = read_outbox(outbox_path)
    assert [record["to"] for record in outbox] == [ZHANG]
    codes = _codes_to(outbox_path, ZHANG)
    assert len(codes) == 1 and re.fullmatch(r"[0-9]{6}", codes[0])
    assert dispatcher.messages[0]["response"] == "utter_code_sent"
    assert dispatcher.messages[0]["masked_phone"] == MASKED_ZHANG
    assert dispatcher.messages[0]["minutes"] == runtime.settings.code_ttl_seconds // 60
    assert len(dispatcher.messages) == 1


def test_the_code_never_appears_in_what_the_bot_says(runtime, outbox_path) -> None:
    """Neither the code-sent message nor any later message repeats the code."""
    _, sent = _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    _, checked = _validate_code(code)
    said = json.dumps(sent.messages + checked.messages, ensure_ascii=False, default=str)
    assert code not in said
    assert _responses(checked) == ["utter_verified"]


def test_second_request_within_a_minute_is_refused(runtime, outbox_path, clock) -> None:
    """A second code for the same number within 60 s gets utter_code_recently_sent, no SMS."""
    _validate_phone(ZHANG)
    clock.advance(seconds=20)
    result, dispatcher = _validate_phone(ZHANG)
    assert _responses(dispatcher) == ["utter_code_recently_sent"]
    assert dispatcher.messages[0]["masked_phone"] == MASKED_ZHANG
    assert dispatcher.messages[0]["seconds"] == 40
    assert result["phone_number"] == MASKED_ZHANG
    assert len(_codes_to(outbox_path, ZHANG)) == 1


def test_hourly_limit_stops_the_requests(runtime, outbox_path, clock) -> None:
    """After resend_per_hour codes in an hour the next request gets utter_code_hourly_limit;
    the number is kept (the code step follows, 重新发送 works after the limit)."""
    for _ in range(runtime.settings.resend_per_hour):
        _validate_phone(ZHANG)
        clock.advance(seconds=61)
    result, dispatcher = _validate_phone(ZHANG)
    assert result == {
        "phone_number": MASKED_ZHANG,
        "verification_code": None,
        "verified_phone": None,
        "verified_at": None,
    }
    assert _responses(dispatcher) == ["utter_code_hourly_limit"]
    assert dispatcher.messages[0]["masked_phone"] == MASKED_ZHANG
    # The first code was sent at 10:00 Shanghai time; the limit lifts an hour later.
    assert dispatcher.messages[0]["retry_time"] == "11:00"
    assert len(_codes_to(outbox_path, ZHANG)) == runtime.settings.resend_per_hour


def test_already_verified_number_is_not_sent_a_new_code(runtime, outbox_path) -> None:
    """Giving the number that is already verified keeps the identity and sends nothing."""
    tracker = make_tracker(slots=verified_slots(runtime), text=ZHANG)
    sent_before = len(read_outbox(outbox_path))
    result, dispatcher = _validate_phone(ZHANG, tracker)
    assert result == {"phone_number": MASKED_ZHANG}
    assert dispatcher.messages == []
    assert len(read_outbox(outbox_path)) == sent_before


def test_changing_the_phone_number_drops_the_verified_identity(runtime, outbox_path) -> None:
    """A new number after verification clears verified_phone and sends a code to the new one."""
    tracker = make_tracker(slots=verified_slots(runtime), text=LI)
    result, dispatcher = _validate_phone(LI, tracker)
    assert result == {
        "phone_number": "139****9000",
        "verification_code": None,
        "verified_phone": None,
        "verified_at": None,
    }
    assert _responses(dispatcher) == ["utter_code_sent"]
    assert dispatcher.messages[0]["masked_phone"] == "139****9000"
    assert [record["to"] for record in read_outbox(outbox_path)][-1:] == [LI]
    assert verified_phone(make_tracker(slots={**result, "verified_at": None}), runtime) is None


# --- the code ------------------------------------------------------------------------------


def test_correct_code_verifies_and_hides_the_code(runtime, outbox_path) -> None:
    """The right code sets verified_phone/verified_at and stores only the placeholder."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    result, dispatcher = _validate_code(code)
    assert result == {
        "verification_code": CODE_PLACEHOLDER,
        "verified_phone": MASKED_ZHANG,
        "verified_at": runtime.epoch(),
    }
    # What the tracker keeps is masked; the real number comes back from the store.
    later = make_tracker(slots={"phone_number": MASKED_ZHANG, **result})
    assert verified_phone(later, runtime) == ZHANG
    assert CODE_PLACEHOLDER == "******"
    assert _responses(dispatcher) == ["utter_verified"]


def test_code_said_with_spaces_is_accepted(runtime, outbox_path) -> None:
    """Spaces inside the code are ignored."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    result, _ = _validate_code(f"{code[:3]} {code[3:]}")
    assert result["verified_phone"] == MASKED_ZHANG


def test_wrong_code_says_how_many_tries_remain(runtime, outbox_path) -> None:
    """A wrong code gets utter_wrong_code with 4 tries remaining and no identity."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    result, dispatcher = _validate_code(_wrong(code))
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_wrong_code"]
    assert dispatcher.messages[0]["remaining"] == 4
    assert _wrong(code) not in json.dumps(dispatcher.messages, default=str)


def test_five_wrong_codes_lock_the_phone(runtime, outbox_path) -> None:
    """The fifth wrong code locks the number until 15 minutes later and ends the request."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    remaining = []
    for _ in range(4):
        _, dispatcher = _validate_code(_wrong(code))
        remaining.append(dispatcher.messages[0]["remaining"])
    assert remaining == [4, 3, 2, 1]
    result, dispatcher = _validate_code(_wrong(code))
    assert result == {"verification_code": None, "phone_number": None, "selection_note": "locked"}
    assert _responses(dispatcher) == ["utter_phone_locked"]
    assert dispatcher.messages[0]["masked_phone"] == MASKED_ZHANG
    assert dispatcher.messages[0]["retry_time"] == "10:15"  # 10:00 Shanghai + 900 s
    # Even the right code is refused while locked.
    result, dispatcher = _validate_code(code)
    assert result["verification_code"] is None
    assert _responses(dispatcher) == ["utter_phone_locked"]


def test_a_locked_phone_gets_no_new_code(runtime, outbox_path, clock) -> None:
    """Asking for a new code while locked gets utter_phone_locked and no SMS."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    for _ in range(5):
        _validate_code(_wrong(code))
    clock.advance(seconds=61)
    result, dispatcher = _validate_phone(ZHANG)
    assert result == {
        "phone_number": MASKED_ZHANG,
        "verification_code": None,
        "verified_phone": None,
        "verified_at": None,
    }
    assert _responses(dispatcher) == ["utter_phone_locked"]
    assert len(_codes_to(outbox_path, ZHANG)) == 1


def test_expired_code_is_refused(runtime, outbox_path, clock) -> None:
    """A code older than code_ttl_seconds gets utter_code_expired."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    clock.advance(seconds=runtime.settings.code_ttl_seconds + 1)
    result, dispatcher = _validate_code(code)
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_code_expired"]


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_malformed_code_asks_for_six_digits(runtime, code: str) -> None:
    """Anything but 6 digits gets utter_invalid_code_format without touching the store."""
    result, dispatcher = _validate_code(code)
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_invalid_code_format"]


def test_code_before_any_phone_asks_for_the_phone(runtime) -> None:
    """A code without a phone number gets utter_need_phone_first."""
    result, dispatcher = _validate_code("123456", phone=None)
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_need_phone_first"]


def test_code_when_none_was_sent_keeps_the_phone(runtime) -> None:
    """A code for a number that was never sent one here: no code here yet, say 重新发送."""
    result, dispatcher = _validate_code("123456")
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_code_not_sent_here"]


def test_code_sent_in_another_conversation_is_not_accepted(runtime, outbox_path) -> None:
    """A code is bound to the conversation that asked for it."""
    _validate_phone(ZHANG, make_tracker(text=ZHANG, sender_id="someone-else"))
    code = _codes_to(outbox_path, ZHANG)[0]
    result, dispatcher = _validate_code(code)
    assert result.get("verified_phone") is None
    assert _responses(dispatcher) == ["utter_code_not_sent_here"]


def test_placeholder_is_kept_while_verified(runtime) -> None:
    """The placeholder of a verified conversation validates as itself, without a store call."""
    slots = verified_slots(runtime)
    slots.pop("phone_number")
    result, dispatcher = _validate_code(CODE_PLACEHOLDER, **slots)
    assert result == {"verification_code": CODE_PLACEHOLDER}
    assert dispatcher.messages == []


# --- how long an identity lasts -----------------------------------------------------------


def test_verified_identity_expires_after_the_idle_time(runtime, clock) -> None:
    """The store's session holds for verified_idle_seconds after its last use, then ends."""
    tracker = make_tracker(slots=verified_slots(runtime))
    clock.advance(seconds=runtime.settings.verified_idle_seconds)
    assert verified_phone(tracker, runtime) == ZHANG  # used: the store refreshes the session
    clock.advance(seconds=runtime.settings.verified_idle_seconds + 1)
    assert verified_phone(tracker, runtime) is None
    required = asyncio.run(
        ValidateIdentityForm().required_slots([], CollectingDispatcher(), tracker, {})
    )
    assert required == ["phone_number", "verification_code"]


def test_no_identity_without_both_slots(runtime) -> None:
    """A phone without a verification time (or none at all) is not an identity."""
    assert verified_phone(make_tracker(slots={"verified_phone": ZHANG}), runtime) is None
    assert verified_phone(make_tracker(slots={"verified_at": runtime.epoch()}), runtime) is None


def test_activity_keeps_the_identity_alive(runtime, clock) -> None:
    """touch_verification moves verified_at to now while verified, and does nothing otherwise."""
    tracker = make_tracker(slots=verified_slots(runtime))
    clock.advance(seconds=300)
    assert touch_verification(tracker, runtime) == [SlotSet("verified_at", runtime.epoch())]
    assert touch_verification(make_tracker(sender_id="rest:other"), runtime) == []


# --- resend and the phone question -------------------------------------------------------


def test_resend_within_a_minute_is_refused(runtime, outbox_path, clock) -> None:
    """action_resend_code inside the resend interval says when to try again and sends nothing."""
    _validate_phone(ZHANG)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"phone_number": ZHANG}, intent="resend_code", text="没收到")
    events = asyncio.run(ActionResendCode().run(dispatcher, tracker, {}))
    assert events == []
    assert _responses(dispatcher) == ["utter_code_recently_sent"]
    assert len(_codes_to(outbox_path, ZHANG)) == 1


def test_resend_after_a_minute_sends_a_new_code(runtime, outbox_path, clock) -> None:
    """After the interval a new code is sent, the old one stops working, the new one works."""
    _validate_phone(ZHANG)
    old = _codes_to(outbox_path, ZHANG)[0]
    clock.advance(seconds=61)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"phone_number": ZHANG}, intent="resend_code", text="重新发送")
    asyncio.run(ActionResendCode().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_code_resent"]
    assert dispatcher.messages[0]["masked_phone"] == MASKED_ZHANG
    codes = _codes_to(outbox_path, ZHANG)
    assert len(codes) == 2
    new = codes[1]
    if new != old:
        result, _ = _validate_code(old)
        assert result.get("verified_phone") is None
    result, _ = _validate_code(new)
    assert result["verified_phone"] == MASKED_ZHANG


def test_resend_without_a_phone_asks_for_it(runtime, outbox_path) -> None:
    """action_resend_code before any phone number asks for the number first."""
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionResendCode().run(dispatcher, make_tracker(intent="resend_code"), {}))
    assert _responses(dispatcher) == ["utter_need_phone_first"]
    assert read_outbox(outbox_path) == []


@pytest.mark.parametrize(
    ("active_loop", "service", "expected"),
    [
        ("cancel_form", "腾讯视频VIP", "utter_ask_phone_number_for_cancel"),
        ("cancel_form", None, "utter_ask_phone_number_generic_cancel"),
        ("identity_form", None, "utter_ask_phone_number"),
        (None, None, "utter_ask_phone_number"),
    ],
)
def test_phone_question_fits_the_task(runtime, active_loop, service, expected) -> None:
    """action_ask_phone_number words the question for the current form and membership."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"service": service}, active_loop=active_loop)
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert events == [SlotSet("privacy_notice_given", True)]
    assert _responses(dispatcher) == ["utter_privacy_notice", expected]
    if service:
        assert dispatcher.messages[1]["service"] == service


# --- numbers the channel vouches for, and numbers kept masked ----------------------------


def _with_assertion(
    runtime, channel: str, source: str, phone: str = ZHANG, conversation: str = "", **kwargs
):
    """A tracker whose latest message carries the channel's signed assertion."""
    conversation = conversation or f"{channel}:conv-1"
    tracker = make_tracker(channel=channel, sender_id=conversation, **kwargs)
    token = assertion.sign(
        runtime.settings.channel_assertion_key,
        conversation_id=conversation,
        phone=phone,
        source=source,
        now=runtime.epoch(),
    )
    tracker.events[-1]["metadata"] = {assertion.METADATA_KEY: token}
    return tracker


def test_an_sms_sender_assertion_opens_the_stores_session(runtime) -> None:
    """The SMS channel's signed sender proves the phone: the store records the session."""
    assert verified_phone(_with_assertion(runtime, "sms", "sms_sender"), runtime) == ZHANG
    assert runtime.store.session_phone("sms:conv-1") == ZHANG
    # Later turns of the conversation find it in the store, without any metadata.
    assert verified_phone(make_tracker(sender_id="sms:conv-1"), runtime) == ZHANG


def test_a_caller_id_is_never_proof(runtime) -> None:
    """An IVR caller's number says where to send a code, nothing more."""
    assert verified_phone(_with_assertion(runtime, "ivr", "caller_id"), runtime) is None
    assert channel_identity(_with_assertion(runtime, "ivr", "caller_id"), runtime).phone == ZHANG
    assert runtime.store.session_phone("ivr:conv-1") is None


def test_a_masked_phone_slot_is_resolved_from_the_store(runtime, outbox_path) -> None:
    """On a later turn the slot holds 138****8000; the code is still checked for the real number."""
    _validate_phone(ZHANG)
    code = _codes_to(outbox_path, ZHANG)[0]
    result, dispatcher = _validate_code(code, phone=MASKED_ZHANG)
    assert result["verified_phone"] == MASKED_ZHANG
    assert _responses(dispatcher) == ["utter_verified"]


def test_a_masked_slot_of_another_number_is_not_trusted(runtime, outbox_path) -> None:
    """A masked value that does not match the number the code went to is no phone at all."""
    _validate_phone(ZHANG)
    result, dispatcher = _validate_code("123456", phone="139****9000")
    assert result == {"verification_code": None}
    assert _responses(dispatcher) == ["utter_need_phone_first"]


def test_a_verified_slot_from_another_conversation_is_not_an_identity(runtime) -> None:
    """verified_phone needs the code proved in this very conversation."""
    slots = verified_slots(runtime, sender_id="someone-else")
    assert verified_phone(make_tracker(slots=slots), runtime) is None


def test_the_caller_number_gets_the_code_without_being_asked(runtime, outbox_path) -> None:
    """On the IVR with the caller's number, the code goes to it and the slot keeps it masked."""
    dispatcher = CollectingDispatcher()
    tracker = _with_assertion(runtime, "ivr", "caller_id", active_loop="cancel_form")
    events = asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {}))
    assert _responses(dispatcher) == ["utter_privacy_notice", "utter_code_sent_to_caller"]
    assert dispatcher.messages[1]["masked_phone"] == MASKED_ZHANG
    assert SlotSet("phone_number", MASKED_ZHANG) in events
    assert [record["to"] for record in read_outbox(outbox_path)] == [ZHANG]
    # The code still has to be given: nothing is verified yet.
    assert verified_phone(tracker, runtime) is None
    code = _codes_to(outbox_path, ZHANG)[0]
    result, _ = _validate_code(code, phone=MASKED_ZHANG, sender_id="ivr:conv-1")
    assert result["verified_phone"] == MASKED_ZHANG
    assert runtime.store.session_phone("ivr:conv-1") == ZHANG


def test_the_caller_number_is_used_once_then_asked_as_usual(runtime, outbox_path) -> None:
    """After a code went out in this conversation, the phone question is asked normally."""
    _validate_phone(LI, make_tracker(text=LI, sender_id="ivr:conv-1"))
    dispatcher = CollectingDispatcher()
    tracker = _with_assertion(
        runtime, "ivr", "caller_id", active_loop="cancel_form", slots={"privacy_notice_given": True}
    )
    assert asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {})) == []
    assert _responses(dispatcher) == ["utter_ask_phone_number_generic_cancel"]


def test_a_rest_client_cannot_claim_a_caller_number(runtime, outbox_path) -> None:
    """An IVR assertion replayed in a REST conversation, or the old metadata, sends nothing."""
    ivr = _with_assertion(runtime, "ivr", "caller_id")
    token = ivr.events[-1]["metadata"][assertion.METADATA_KEY]
    for metadata in (
        {assertion.METADATA_KEY: token},
        {"identity": {"phone": ZHANG, "source": "caller_id"}},
    ):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(
            channel="ivr",
            sender_id="rest:x",
            active_loop="cancel_form",
            slots={"privacy_notice_given": True},
        )
        tracker.events[-1]["metadata"] = metadata
        assert asyncio.run(ActionAskPhoneNumber().run(dispatcher, tracker, {})) == []
        assert _responses(dispatcher) == ["utter_ask_phone_number_generic_cancel"]
    assert read_outbox(outbox_path) == []


def test_another_conversations_recent_code_does_not_hold_this_one_up(
    runtime, outbox_path, clock
) -> None:
    """A code sent to the number in another tab (or by a stranger) does not make this
    conversation wait: each conversation gets and uses its own code."""
    _validate_phone(ZHANG, make_tracker(text=ZHANG, sender_id="other-tab"))
    clock.advance(seconds=10)
    result, dispatcher = _validate_phone(ZHANG)
    assert result["phone_number"] == MASKED_ZHANG
    assert _responses(dispatcher) == ["utter_code_sent"]
    result, _ = _validate_code(_codes_to(outbox_path, ZHANG)[-1])
    assert result["verified_phone"] == MASKED_ZHANG


class _BrokenSms:
    """An SMS gateway that is down."""

    def send(self, to: str, text: str) -> None:
        raise SmsError("gateway down")


def test_a_code_whose_sms_failed_is_withdrawn(runtime, outbox_path) -> None:
    """The user is told the truth and can ask again at once: no "already sent" for a lost SMS."""
    working = runtime.sms
    runtime.sms = _BrokenSms()
    result, dispatcher = _validate_phone(ZHANG)
    assert result["phone_number"] == MASKED_ZHANG  # kept: 重新发送 goes to it
    assert _responses(dispatcher) == ["utter_code_sms_failed"]
    assert runtime.store.code_state(ZHANG, "test-user").live is False
    runtime.sms = working
    result, dispatcher = _validate_phone(ZHANG)
    assert _responses(dispatcher) == ["utter_code_sent"]
    assert len(_codes_to(outbox_path, ZHANG)) == 1


def test_a_restart_ends_the_stores_session(runtime) -> None:
    """/restart: the verified session of this conversation ends; others keep theirs."""
    verified_slots(runtime)
    verified_slots(runtime, sender_id="web:other")
    events, _ = run_action(ActionRestart(), make_tracker())
    assert events == [Restarted()]
    assert runtime.store.session_phone("test-user") is None
    assert runtime.store.session_phone("web:other") == ZHANG
