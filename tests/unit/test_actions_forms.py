"""The forms' validation actions: cancel_form, identity_form and reason_form (actions/forms.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import SKIPPED, ValidateCancelForm, ValidateIdentityForm, ValidateReasonForm
from actions.verification import CODE_PLACEHOLDER
from core.sms.outbox import latest_code
from core.store.errors import StoreUnavailable
from tests.conftest import entity, make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import slots_after as _slots
from tests.unit.action_helpers import verified_slots as _verified

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8"))


def _with_candidates(tracker: Tracker, **candidates: Any) -> Tracker:
    """Adds the slot candidates Rasa's FormAction appends before calling the validation action."""
    for name, value in candidates.items():
        tracker.events.append({"event": "slot", "timestamp": None, "name": name, "value": value})
        tracker.slots[name] = value
    return tracker


def _run_cancel_form(tracker: Tracker) -> tuple[List[Dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateCancelForm().run(dispatcher, tracker, DOMAIN))
    return events, dispatcher


def _send_code(runtime, outbox_path, phone: str) -> str:
    """Asks for a code for `phone` in the test conversation; returns the code sent."""
    asyncio.run(
        ValidateCancelForm().validate_phone_number(
            phone, CollectingDispatcher(), make_tracker(text=phone), DOMAIN
        )
    )
    code = latest_code(outbox_path, phone)
    assert code is not None
    return code


def _code_turn(phone: str, code: str, **slots: Any) -> Tracker:
    """The turn in which the user gives the code inside cancel_form."""
    tracker = make_tracker(
        slots={"phone_number": phone, "requested_slot": "verification_code", **slots},
        intent="inform",
        text=code,
        entities=[entity("verification_code", code)],
        active_loop="cancel_form",
    )
    return _with_candidates(tracker, verification_code=code)


def _required(runtime, slots: Dict[str, Any], form=None) -> List[str]:
    form = form or ValidateCancelForm()
    return asyncio.run(
        form.required_slots([], CollectingDispatcher(), make_tracker(slots=slots), DOMAIN)
    )


def _extract_subscription_id(
    runtime,
    *,
    text: str = "",
    intent: Optional[str] = "inform",
    entities: Optional[list] = None,
    **slots: Any,
) -> tuple[Dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots=_verified(runtime, **slots),
        intent=intent,
        text=text,
        entities=entities,
        active_loop="cancel_form",
    )
    result = asyncio.run(ValidateCancelForm().extract_subscription_id(dispatcher, tracker, DOMAIN))
    return result, dispatcher


# --- required slots ------------------------------------------------------------------------


def test_required_slots_before_verification(runtime) -> None:
    """Before the holder is verified only the identity slots are required."""
    assert _required(runtime, {}) == ["phone_number", "verification_code"]
    assert _required(runtime, {"service": "腾讯视频VIP"}) == ["phone_number", "verification_code"]


def test_required_slots_after_verification(runtime) -> None:
    """Once verified the form asks which membership and for the confirmation."""
    assert _required(runtime, _verified(runtime)) == ["subscription_id", "cancel_confirmed"]


@pytest.mark.parametrize("note", ["none_active", "already_cancelled", "app_store", "unavailable"])
def test_required_slots_with_a_selection_note_end_the_form(runtime, note: str) -> None:
    """A selection note means there is nothing to confirm: no slot is required."""
    assert _required(runtime, _verified(runtime, selection_note=note)) == []


def test_identity_form_requires_nothing_once_verified(runtime) -> None:
    """identity_form needs phone and code until verified, then nothing."""
    form = ValidateIdentityForm()
    assert _required(runtime, {}, form) == ["phone_number", "verification_code"]
    assert _required(runtime, _verified(runtime), form) == []


# --- after the correct code ----------------------------------------------------------------


def test_correct_code_selects_the_named_membership(runtime, outbox_path, subscription_of) -> None:
    """With service 腾讯视频VIP, the correct code selects it and the form asks to confirm."""
    code = _send_code(runtime, outbox_path, ZHANG)
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, code, service="腾讯视频VIP"))
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    assert SlotSet("subscription_id", tencent) in events
    assert _slots(events) == {
        "verification_code": CODE_PLACEHOLDER,
        "verified_phone": "138****8000",
        "verified_at": runtime.epoch(),
        "subscription_id": tencent,
        "pending_subscriptions": [],
        "cancel_confirmed": None,
        "selection_note": None,
        "requested_slot": "cancel_confirmed",
    }
    assert _responses(dispatcher) == ["utter_verified"]


def test_membership_not_held_is_said_then_the_list_is_asked(runtime, outbox_path) -> None:
    """A membership the holder lacks gets utter_subscription_not_held; then subscription_id."""
    code = _send_code(runtime, outbox_path, ZHANG)
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, code, service="优酷VIP"))
    assert _responses(dispatcher) == ["utter_verified", "utter_subscription_not_held"]
    assert dispatcher.messages[1]["service"] == "优酷VIP"
    slots = _slots(events)
    assert slots["subscription_id"] is None
    assert slots["service"] is None
    assert slots["requested_slot"] == "subscription_id"


def test_already_cancelled_membership_is_not_offered_again(runtime, outbox_path) -> None:
    """咪咕视频钻石会员 of 13800138000: utter_already_cancelled with its reference; form ends."""
    code = _send_code(runtime, outbox_path, ZHANG)
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, code, service="咪咕视频钻石会员"))
    migu = next(s for s in runtime.store.subscriptions(ZHANG) if s.status == "cancelled")
    assert _responses(dispatcher) == ["utter_verified", "utter_already_cancelled"]
    said = dispatcher.messages[1]
    assert said["service"] == "咪咕视频钻石会员"
    assert said["reference"] == migu.reference and migu.reference.startswith("TD")
    assert said["cancelled_date"] == "11月4日"  # 20 days before the seed day, 11月24日
    slots = _slots(events)
    assert slots["selection_note"] == "already_cancelled"
    assert slots["subscription_id"] is None
    assert slots["requested_slot"] is None


def test_app_store_membership_gets_the_iphone_steps(runtime, outbox_path) -> None:
    """百度网盘超级会员 of 13900139000 (Apple) gets utter_app_store_steps; note app_store."""
    code = _send_code(runtime, outbox_path, LI)
    events, dispatcher = _run_cancel_form(_code_turn(LI, code, service="百度网盘超级会员"))
    assert _responses(dispatcher) == ["utter_verified", "utter_app_store_steps"]
    assert dispatcher.messages[1]["service"] == "百度网盘超级会员"
    assert dispatcher.messages[1]["period_end"] == "2027年6月12日"  # 200 days after 11月24日
    slots = _slots(events)
    assert slots["selection_note"] == "app_store"
    assert slots["subscription_id"] is None
    assert slots["requested_slot"] is None


def test_holder_without_memberships_ends_with_none_active(runtime, outbox_path) -> None:
    """13700137000 holds nothing: selection_note none_active and the form ends."""
    code = _send_code(runtime, outbox_path, WANG)
    events, dispatcher = _run_cancel_form(_code_turn(WANG, code))
    assert _responses(dispatcher) == ["utter_verified"]
    slots = _slots(events)
    assert slots["selection_note"] == "none_active"
    assert slots["requested_slot"] is None


def test_holder_with_one_membership_gets_it_selected(runtime, outbox_path, subscription_of) -> None:
    """13600136000 has one active membership: it is selected without a list."""
    code = _send_code(runtime, outbox_path, ZHAO)
    events, _ = _run_cancel_form(_code_turn(ZHAO, code))
    slots = _slots(events)
    assert slots["subscription_id"] == str(subscription_of(ZHAO, "网易云音乐黑胶VIP"))
    assert slots["requested_slot"] == "cancel_confirmed"


def test_holder_with_several_memberships_is_asked_which(runtime, outbox_path) -> None:
    """Without a name and with two active memberships the form asks for subscription_id."""
    code = _send_code(runtime, outbox_path, ZHANG)
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, code))
    slots = _slots(events)
    assert "subscription_id" not in slots
    assert slots["requested_slot"] == "subscription_id"
    assert _responses(dispatcher) == ["utter_verified"]


def test_wrong_code_inside_the_form_selects_nothing(runtime, outbox_path) -> None:
    """A wrong code leaves the membership unselected and asks for the code again."""
    code = _send_code(runtime, outbox_path, ZHANG)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, wrong, service="腾讯视频VIP"))
    assert _responses(dispatcher) == ["utter_wrong_code"]
    slots = _slots(events)
    assert "subscription_id" not in slots
    assert slots["verification_code"] is None
    assert slots["requested_slot"] == "verification_code"


# --- choosing from the list ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["2", "第二个", "第2个"])
def test_picking_the_second_from_the_list(runtime, subscription_of, text: str) -> None:
    """'2' / '第二个' picks the second listed membership (腾讯视频VIP: QQ音乐 charges sooner)."""
    result, dispatcher = _extract_subscription_id(
        runtime, text=text, requested_slot="subscription_id"
    )
    assert result == {
        "subscription_id": str(subscription_of(ZHANG, "腾讯视频VIP")),
        "pending_subscriptions": [],
        "cancel_confirmed": None,
        "selection_note": None,
    }
    assert dispatcher.messages == []


def test_both_selects_the_first_and_keeps_the_other_pending(runtime, subscription_of) -> None:
    """'两个都取消' selects the first listed and queues the second in pending_subscriptions."""
    result, _ = _extract_subscription_id(
        runtime, text="两个都取消", intent="cancel_subscription", requested_slot="subscription_id"
    )
    assert result["subscription_id"] == str(subscription_of(ZHANG, "QQ音乐绿钻"))
    assert result["pending_subscriptions"] == [str(subscription_of(ZHANG, "腾讯视频VIP"))]


def test_not_a_choice_extracts_nothing(runtime) -> None:
    """A reply that picks nothing from the list leaves subscription_id alone."""
    result, dispatcher = _extract_subscription_id(
        runtime, text="不知道", requested_slot="subscription_id"
    )
    assert result == {}
    assert dispatcher.messages == []


def test_number_outside_the_list_extracts_nothing(runtime) -> None:
    """'5' with two memberships listed picks nothing."""
    result, _ = _extract_subscription_id(runtime, text="5", requested_slot="subscription_id")
    assert result == {}


def test_choice_before_verification_extracts_nothing(runtime) -> None:
    """Without a verified holder there is no list to choose from."""
    tracker = make_tracker(
        slots={"requested_slot": "subscription_id"}, text="2", active_loop="cancel_form"
    )
    result = asyncio.run(
        ValidateCancelForm().extract_subscription_id(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result == {}


def test_naming_a_membership_selects_it(runtime, subscription_of) -> None:
    """A service entity selects that membership whatever slot was requested."""
    result, _ = _extract_subscription_id(
        runtime,
        text="QQ音乐绿钻",
        entities=[entity("service", "QQ音乐绿钻")],
        requested_slot="subscription_id",
    )
    assert result["subscription_id"] == str(subscription_of(ZHANG, "QQ音乐绿钻"))


def test_naming_the_selected_membership_again_changes_nothing(runtime, subscription_of) -> None:
    """Repeating the selected membership's name extracts nothing (cancel_confirmed is kept)."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    result, _ = _extract_subscription_id(
        runtime,
        text="腾讯视频VIP",
        entities=[entity("service", "腾讯视频VIP")],
        subscription_id=tencent,
        requested_slot="cancel_confirmed",
    )
    assert result == {}


def test_verified_holder_starting_the_form_gets_the_obvious_one(runtime, subscription_of) -> None:
    """Already verified, nothing requested yet: the only active membership is selected."""
    result, _ = _extract_subscription_id(
        runtime, phone=ZHAO, text="取消会员", intent="cancel_subscription"
    )
    assert result["subscription_id"] == str(subscription_of(ZHAO, "网易云音乐黑胶VIP"))


# --- the confirmation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "entities", "requested", "expected"),
    [
        ("affirm", [], "cancel_confirmed", {"cancel_confirmed": True}),
        ("deny", [], "cancel_confirmed", {"cancel_confirmed": False}),
        ("cancel_subscription", [], "cancel_confirmed", {"cancel_confirmed": True}),
        ("cancel_subscription", [entity("service", "QQ音乐绿钻")], "cancel_confirmed", {}),
        ("inform", [], "cancel_confirmed", {}),
        ("greet", [], "cancel_confirmed", {}),
        ("affirm", [], "subscription_id", {}),
        ("deny", [], "subscription_id", {}),
        ("affirm", [], "verification_code", {}),
        ("affirm", [], None, {}),
    ],
)
def test_extract_cancel_confirmed(runtime, intent, entities, requested, expected) -> None:
    """Yes/no fills cancel_confirmed only while the confirmation is the question asked."""
    tracker = make_tracker(
        slots={"requested_slot": requested}, intent=intent, entities=entities, text="确认"
    )
    result = asyncio.run(
        ValidateCancelForm().extract_cancel_confirmed(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result == expected


@pytest.mark.parametrize(
    ("text", "confirmed"),
    [
        ("确认取消", True),
        ("是的", True),
        ("好", True),
        ("嗯，可以", True),
        ("嗯那啥", False),
        ("随便", False),
        ("OK", True),
        ("/affirm", True),
        ("取消吧", True),
        ("阿巴阿巴", False),
        ("叽里咕噜", False),
        ("xyz", False),
        ("的的的", False),
        ("吧", False),
        ("啊？", False),
        ("没问题", True),
        ("先不取消", False),
        ("别关", False),
        ("不要取消", False),
        ("算了", False),
    ],
)
def test_only_words_that_say_yes_confirm(runtime, text: str, confirmed: bool) -> None:
    """Noise the classifier takes for affirm, or a negation, never confirms a cancellation."""
    tracker = make_tracker(
        slots={"requested_slot": "cancel_confirmed"}, intent="affirm", text=text
    )
    result = asyncio.run(
        ValidateCancelForm().extract_cancel_confirmed(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result == ({"cancel_confirmed": True} if confirmed else {})


def test_changing_the_membership_midway_resets_the_confirmation(runtime, subscription_of) -> None:
    """A new service while cancel_confirmed is asked selects it and resets cancel_confirmed."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    qq = str(subscription_of(ZHANG, "QQ音乐绿钻"))
    tracker = make_tracker(
        slots=_verified(runtime, subscription_id=tencent, requested_slot="cancel_confirmed"),
        intent="cancel_subscription",
        text="不对，我要取消的是QQ音乐绿钻",
        entities=[entity("service", "QQ音乐绿钻")],
        active_loop="cancel_form",
    )
    events, dispatcher = _run_cancel_form(tracker)
    slots = _slots(events)
    assert slots["subscription_id"] == qq
    assert slots["cancel_confirmed"] is None
    assert slots["requested_slot"] == "cancel_confirmed"
    assert dispatcher.messages == []


def test_confirming_completes_the_form(runtime, subscription_of) -> None:
    """'确认取消' while the confirmation is asked fills cancel_confirmed and ends the form."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    tracker = make_tracker(
        slots=_verified(runtime, subscription_id=tencent, requested_slot="cancel_confirmed"),
        intent="affirm",
        text="确认取消",
        active_loop="cancel_form",
    )
    events, _ = _run_cancel_form(tracker)
    assert SlotSet("cancel_confirmed", True) in events
    assert _slots(events)["requested_slot"] is None


# --- bugs ----------------------------------------------------------------------------------


def test_lockout_inside_the_form_ends_the_form(runtime, outbox_path) -> None:
    """After the fifth wrong code the cancel form stops instead of asking for the phone again."""
    code = _send_code(runtime, outbox_path, ZHANG)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        _run_cancel_form(_code_turn(ZHANG, wrong))
    events, dispatcher = _run_cancel_form(_code_turn(ZHANG, wrong))
    assert _responses(dispatcher) == ["utter_phone_locked"]
    requested = [e["value"] for e in events if e.get("name") == "requested_slot"]
    assert requested[-1] is None


def test_expired_identity_inside_the_form_asks_for_a_new_code(runtime, subscription_of, clock):
    """An identity that expired while the confirmation was pending is proved again."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    tracker = make_tracker(
        slots=_verified(runtime, subscription_id=tencent, requested_slot="cancel_confirmed"),
        intent="affirm",
        text="确认取消",
        active_loop="cancel_form",
    )
    clock.advance(seconds=runtime.settings.verified_idle_seconds + 1)
    events, _ = _run_cancel_form(tracker)
    requested = [e["value"] for e in events if e.get("name") == "requested_slot"]
    assert requested and requested[-1] in ("phone_number", "verification_code")


def test_affirm_naming_another_membership_does_not_confirm_it(runtime, subscription_of) -> None:
    """'是的，取消QQ音乐绿钻' while 腾讯视频VIP is being confirmed asks again for QQ音乐绿钻."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    tracker = make_tracker(
        slots=_verified(runtime, subscription_id=tencent, requested_slot="cancel_confirmed"),
        intent="affirm",
        text="是的，取消QQ音乐绿钻",
        entities=[entity("service", "QQ音乐绿钻")],
        active_loop="cancel_form",
    )
    events, _ = _run_cancel_form(tracker)
    slots = _slots(events)
    assert slots["subscription_id"] == str(subscription_of(ZHANG, "QQ音乐绿钻"))
    assert slots["cancel_confirmed"] is None
    assert slots["requested_slot"] == "cancel_confirmed"


def test_activity_inside_the_form_keeps_the_identity_alive(runtime, clock) -> None:
    """Asking the next question of the form 500 s after verification refreshes verified_at.

    Validation itself must not set slots on every turn (that would stop the form from ever
    rejecting a digression), so the form's ask actions keep the identity alive.
    """
    from actions.cancellation import ActionAskSubscriptionId

    tracker = make_tracker(
        slots=_verified(runtime, requested_slot="subscription_id"),
        intent="inform",
        text="嗯",
        active_loop="cancel_form",
    )
    clock.advance(seconds=500)
    events = asyncio.run(ActionAskSubscriptionId().run(CollectingDispatcher(), tracker, DOMAIN))
    assert SlotSet("verified_at", runtime.epoch()) in events


# --- identity_form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("check_subscription", {"goal": "check"}),
        ("report_unexpected_charge", {"goal": "charge"}),
        ("query_cancellation", {"goal": "query"}),
        ("inform", {}),
    ],
)
def test_identity_form_remembers_the_goal(runtime, intent: str, expected: dict) -> None:
    """The question that opened identity_form is kept in the goal slot."""
    tracker = make_tracker(intent=intent, text=f"{ZHANG}", entities=[entity("phone_number", ZHANG)])
    result = asyncio.run(
        ValidateIdentityForm().extract_phone_number(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result == expected


def test_identity_form_verifies_and_completes(runtime, outbox_path) -> None:
    """The correct code inside identity_form verifies the holder and ends the form."""
    code = _send_code(runtime, outbox_path, ZHANG)
    tracker = make_tracker(
        slots={"phone_number": ZHANG, "requested_slot": "verification_code"},
        intent="inform",
        text=code,
        entities=[entity("verification_code", code)],
        active_loop="identity_form",
    )
    _with_candidates(tracker, verification_code=code)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateIdentityForm().run(dispatcher, tracker, DOMAIN))
    slots = _slots(events)
    assert slots["verified_phone"] == "138****8000"
    assert slots["verification_code"] == CODE_PLACEHOLDER
    assert slots["requested_slot"] is None
    assert _responses(dispatcher) == ["utter_verified"]


# --- reason_form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "text", "entities", "requested", "expected"),
    [
        ("inform", "太贵了，不怎么看", [], "cancel_reason", {"cancel_reason": "太贵了，不怎么看"}),
        ("cancel_subscription", "不想用了", [], "cancel_reason", {"cancel_reason": "不想用了"}),
        ("deny", "跳过", [], "cancel_reason", {"cancel_reason": SKIPPED}),
        ("check_subscription", "我还有哪些会员", [], "cancel_reason", {}),
        ("request_human", "转人工", [], "cancel_reason", {}),
        (
            "cancel_subscription",
            "再取消QQ音乐绿钻",
            [entity("service", "QQ音乐绿钻")],
            "cancel_reason",
            {},
        ),
        ("inform", "   ", [], "cancel_reason", {}),
        ("affirm", "确认取消", [], None, {}),
        ("affirm", "确认取消", [], "cancel_reason", {}),  # sent twice, not a reason
        ("cancel_subscription", "/cancel_subscription", [], "cancel_reason", {}),  # SMS 0000
    ],
)
def test_extract_cancel_reason(runtime, intent, text, entities, requested, expected) -> None:
    """The answer to the reason question is the reason; a new request or 跳过 is not."""
    tracker = make_tracker(
        slots={"requested_slot": requested}, intent=intent, text=text, entities=entities
    )
    result = asyncio.run(
        ValidateReasonForm().extract_cancel_reason(CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result == expected


def test_reason_is_stored_with_every_cancellation_of_the_batch(runtime, subscription_of) -> None:
    """validate_cancel_reason records the reason on each reference in batch_references."""
    references = []
    for name in ("腾讯视频VIP", "QQ音乐绿钻"):
        outcome = runtime.store.cancel(
            subscription_of(ZHANG, name),
            phone=ZHANG,
            channel="rest",
            conversation_id="test-user",
            idempotency_key=f"test-user:{name}",
        )
        references.append(outcome.reference)
    tracker = make_tracker(slots={"batch_references": references})
    result = ValidateReasonForm().validate_cancel_reason(
        "太贵了", CollectingDispatcher(), tracker, DOMAIN
    )
    assert result == {"cancel_reason": "太贵了"}
    assert [runtime.store.cancellation(r).reason for r in references] == ["太贵了", "太贵了"]


def test_skipped_reason_is_not_stored(runtime, subscription_of) -> None:
    """A skipped reason leaves the cancellation's reason empty."""
    outcome = runtime.store.cancel(
        subscription_of(ZHANG, "腾讯视频VIP"),
        phone=ZHANG,
        channel="rest",
        conversation_id="test-user",
        idempotency_key="test-user:skip",
    )
    tracker = make_tracker(slots={"batch_references": [outcome.reference]})
    result = ValidateReasonForm().validate_cancel_reason(
        SKIPPED, CollectingDispatcher(), tracker, DOMAIN
    )
    assert result == {"cancel_reason": SKIPPED}
    assert runtime.store.cancellation(outcome.reference).reason is None


def test_a_store_outage_inside_the_form_is_told_and_ends_the_form(runtime, monkeypatch) -> None:
    """Who the user is cannot be read: 系统繁忙, nothing asked, the form ends cleanly."""

    def down(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("database is down")

    slots = _verified(runtime)
    monkeypatch.setattr(runtime.store, "session_phone", down)
    monkeypatch.setattr(runtime.store, "conversation_phone", down)
    tracker = make_tracker(slots=slots, intent="affirm", text="确认", active_loop="cancel_form")
    events, dispatcher = _run_cancel_form(tracker)
    assert _responses(dispatcher) == ["utter_system_busy"]
    assert SlotSet("selection_note", "unavailable") in events
    assert SlotSet("requested_slot", None) in events
