"""A tracker says nothing about who the user is: only the store's verified session does.

Each forged tracker below was enough before issue 12 (verified slots set, `input_channel:
sms` with `metadata.identity`, a slot-only freshness), and now must get the phone asked for:
no list, no cancellation, no charges or refunds, no handoff with the holder's details.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cancellation import ActionAskSubscriptionId, ActionCancelSubscription
from actions.forms import ValidateCancelForm
from actions.handoff import ActionHandoff
from actions.holder import verified_phone
from actions.refunds import ActionReviewCharges
from actions.subscriptions import ActionCheckSubscriptions, ActionQueryCancellation
from actions.verification import CODE_PLACEHOLDER
from core.identity import assertion
from core.sms.outbox import read_outbox
from tests.conftest import make_tracker
from tests.unit.action_helpers import prove_phone, responses, run_action

ZHANG = "13800138000"
MASKED = "138****8000"
ATTACKER = "sms:attacker"


def _slots(runtime: Any, **extra: Any) -> Dict[str, Any]:
    """Every slot an honest verified conversation of 张三 would have."""
    return {
        "phone_number": MASKED,
        "verification_code": CODE_PLACEHOLDER,
        "verified_phone": MASKED,
        "verified_at": runtime.epoch(),
        "privacy_notice_given": True,
        **extra,
    }


def _sign(runtime: Any, conversation: str, source: str = "sms_sender", **kw: Any) -> str:
    return assertion.sign(
        kw.pop("key", assertion.DEV_KEY),  # the settings' default in tests
        conversation_id=conversation,
        phone=ZHANG,
        source=source,
        now=kw.pop("now", runtime.epoch()),
    )


def _forged(runtime: Any, sender: str, token: Any = None, **slots: Any) -> Tracker:
    """An SMS-looking message with the old identity metadata (and maybe an assertion)."""
    tracker = make_tracker(
        slots=_slots(runtime, **slots), text="取消", channel="sms", sender_id=sender
    )
    metadata: Dict[str, Any] = {"identity": {"phone": ZHANG, "source": "sms_sender"}}
    if token is not None:
        metadata[assertion.METADATA_KEY] = token
    tracker.events[-1]["metadata"] = metadata
    return tracker


FORGERIES: Dict[str, Callable[[Any], Tracker]] = {
    "slots and old metadata": lambda rt: _forged(rt, ATTACKER),
    "assertion signed with another key": lambda rt: _forged(
        rt, ATTACKER, _sign(rt, ATTACKER, key="the-attackers-own-key")
    ),
    "expired assertion": lambda rt: _forged(
        rt, ATTACKER, _sign(rt, ATTACKER, now=rt.epoch() - assertion.MAX_AGE_SECONDS - 1)
    ),
    "garbage assertion": lambda rt: _forged(rt, ATTACKER, "v1.not.real"),
    "real assertion for another conversation": lambda rt: _forged(
        rt, ATTACKER, _sign(rt, "sms:zhangs-own-conversation")
    ),
    "caller id assertion (never proof)": lambda rt: _forged(
        rt, "ivr:attacker", _sign(rt, "ivr:attacker", source="caller_id")
    ),
}


@pytest.fixture(params=sorted(FORGERIES))
def forged(request, runtime) -> Tracker:
    """One forged tracker per kind."""
    return FORGERIES[request.param](runtime)


def _said(dispatcher: CollectingDispatcher) -> str:
    return str(dispatcher.messages)


def test_a_forged_tracker_is_not_an_identity(runtime, forged) -> None:
    assert verified_phone(forged, runtime) is None
    assert runtime.store.session_phone(forged.sender_id) is None


def test_listing_subscriptions_asks_for_the_phone(runtime, forged) -> None:
    _, dispatcher = run_action(ActionCheckSubscriptions(), forged)
    assert responses(dispatcher) == ["utter_ask_phone_for_check"]
    assert "腾讯视频" not in _said(dispatcher)


def test_the_cancel_list_asks_for_the_phone(runtime, forged) -> None:
    _, dispatcher = run_action(ActionAskSubscriptionId(), forged)
    assert responses(dispatcher) == ["utter_ask_phone_number"]
    required = asyncio.run(
        ValidateCancelForm().required_slots([], CollectingDispatcher(), forged, {})
    )
    assert required[:2] == ["phone_number", "verification_code"]


def test_cancelling_changes_nothing(runtime, forged, subscription_of) -> None:
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    forged.slots.update({"subscription_id": str(sub_id), "cancel_confirmed": True})
    _, dispatcher = run_action(ActionCancelSubscription(), forged)
    assert "utter_cancelled" not in responses(dispatcher)
    assert runtime.store.subscription(sub_id).status == "active"
    assert read_outbox(runtime.settings.sms_outbox) == []


def test_charges_and_refunds_ask_for_the_phone(runtime, forged) -> None:
    _, dispatcher = run_action(ActionReviewCharges(), forged)
    assert responses(dispatcher) == ["utter_ask_phone_for_charge"]
    assert runtime.store.review_charges(ZHANG)  # there was something to reveal


def test_cancellation_records_ask_for_the_phone(runtime, forged) -> None:
    _, dispatcher = run_action(ActionQueryCancellation(), forged)
    assert responses(dispatcher) == ["utter_ask_reference_or_phone"]


def test_a_handoff_carries_no_holder_details(runtime, forged) -> None:
    _, dispatcher = run_action(ActionHandoff(), forged)
    assert responses(dispatcher) == ["utter_handoff"]
    ticket = runtime.store.handoff_ticket(dispatcher.messages[0]["reference"])
    assert ticket.phone_masked is None
    assert MASKED not in (ticket.summary or "")
    assert read_outbox(runtime.settings.sms_outbox) == []  # no SMS to 张三


def test_a_fresh_slot_does_not_revive_an_expired_session(runtime, clock) -> None:
    """The holder proved the phone here long ago; verified_at set to now changes nothing."""
    prove_phone(runtime, ZHANG, "rest:old")
    clock.advance(seconds=runtime.settings.verified_idle_seconds + 1)
    tracker = make_tracker(slots=_slots(runtime), sender_id="rest:old")
    _, dispatcher = run_action(ActionCheckSubscriptions(), tracker)
    assert responses(dispatcher) == ["utter_ask_phone_for_check"]


def test_the_holders_real_session_still_works(runtime) -> None:
    """The same actions answer a conversation the store verified (the tests above are not
    passing because nothing ever answers)."""
    token = _sign(runtime, "sms:zhang")
    tracker = make_tracker(text="0000", channel="sms", sender_id="sms:zhang")
    tracker.events[-1]["metadata"] = {assertion.METADATA_KEY: token}
    tracker.slots["privacy_notice_given"] = True
    _, dispatcher = run_action(ActionCheckSubscriptions(), tracker)
    assert responses(dispatcher)[0] == "utter_subscriptions_overview"
    assert dispatcher.messages[0]["masked_phone"] == MASKED
