"""The cancellation: list, status, consequences, transaction, receipt (actions/cancellation.py)."""

from __future__ import annotations

import re
from typing import Any, List

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from sqlalchemy import func, select

from actions.cancellation import (
    FLOW_SLOTS,
    ActionAfterReason,
    ActionAskCancelConfirmed,
    ActionAskSubscriptionId,
    ActionCancelSubscription,
    ActionStopFlow,
)
from core.references import is_valid_reference
from core.sms import SmsError
from core.sms.outbox import read_outbox
from core.store.models import Cancellation, SmsMessage
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import run_action as _run
from tests.unit.action_helpers import slots_after as _slots
from tests.unit.action_helpers import verified_slots as _verified

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
REFERENCE_RE = re.compile(r"^TD\d{8}[0-9A-HJKMNP-TV-Z]{6}$")
CLEARED = [SlotSet(slot, None) for slot in FLOW_SLOTS]


def _cancel_turn(runtime, sub_id: int, phone: str = ZHANG, confirmed: Any = True, **slots: Any):
    return make_tracker(
        slots=_verified(
            runtime, phone, subscription_id=str(sub_id), cancel_confirmed=confirmed, **slots
        ),
        intent="affirm",
        text="确认取消",
    )


def _cancellation_count(runtime) -> int:
    with runtime.store.session_factory.begin() as session:
        return session.execute(select(func.count()).select_from(Cancellation)).scalar_one()


def _receipts(outbox_path, phone: str) -> List[str]:
    return [r["text"] for r in read_outbox(outbox_path) if r["to"] == phone]


class BrokenSms:
    """An SMS gateway that is down."""

    def __init__(self) -> None:
        self.attempts = 0

    def send(self, to: str, text: str) -> None:
        self.attempts += 1
        raise SmsError("gateway unreachable")


# --- the list ------------------------------------------------------------------------------


def test_list_shows_numbered_lines_with_next_charges(runtime, subscription_of) -> None:
    """action_ask_subscription_id lists the active memberships, soonest charge first."""
    events, dispatcher = _run(ActionAskSubscriptionId(), make_tracker(slots=_verified(runtime)))
    assert events == [SlotSet("verified_at", runtime.epoch())]
    assert _responses(dispatcher) == ["utter_subscription_list"]
    message = dispatcher.messages[0]
    assert message["masked_phone"] == "138****8000"
    assert message["items"] == (
        "1. QQ音乐绿钻（连续包月 ¥15/月，话费代扣，下次扣费11月27日）\n"
        "2. 腾讯视频VIP（连续包月 ¥25/月，话费代扣，下次扣费12月4日）"
    )
    assert message["buttons"] == [
        {"title": "1. QQ音乐绿钻", "payload": "1"},
        {"title": "2. 腾讯视频VIP", "payload": "2"},
    ]


def test_list_names_the_billing_channels(runtime) -> None:
    """13900139000's list shows 支付宝 and Apple billing, with the year when it differs."""
    _, dispatcher = _run(ActionAskSubscriptionId(), make_tracker(slots=_verified(runtime, LI)))
    assert dispatcher.messages[0]["items"] == (
        "1. 爱奇艺黄金VIP（连续包季 ¥58/季，支付宝自动扣款，下次扣费2027年1月3日）\n"
        "2. 百度网盘超级会员（连续包年 ¥248/年，Apple App Store，下次扣费2027年6月12日）"
    )
    assert len(dispatcher.messages[0]["buttons"]) == 2


def test_list_without_verification_asks_for_the_phone(runtime) -> None:
    """No list is shown before the holder is verified."""
    _, dispatcher = _run(ActionAskSubscriptionId(), make_tracker())
    assert _responses(dispatcher) == ["utter_privacy_notice", "utter_ask_phone_number"]


# --- status, consequences, question -----------------------------------------------------


def test_first_question_states_status_and_consequences(runtime, subscription_of) -> None:
    """The first time: utter_subscription_status, utter_cancel_consequences, the question."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    tracker = make_tracker(slots=_verified(runtime, subscription_id=str(tencent)))
    events, dispatcher = _run(ActionAskCancelConfirmed(), tracker)
    assert events == [SlotSet("verified_at", runtime.epoch())]
    assert _responses(dispatcher) == [
        "utter_subscription_status",
        "utter_cancel_consequences",
        "utter_ask_cancel_confirmed",
    ]
    details = {
        "service": "腾讯视频VIP",
        "plan": "连续包月",
        "price": "¥25/月",
        "billing": "话费代扣",
        "period_end": "12月4日",
        "next_charge": "12月4日",
        "refund_days": "7",
    }
    for message in dispatcher.messages:
        assert {key: message[key] for key in details} == details


def test_repeated_question_asks_only_the_question(runtime, subscription_of) -> None:
    """When status and consequences were said for this membership, only the question is asked."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    earlier = [
        {"event": "slot", "name": "subscription_id", "value": tencent},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_subscription_status"}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_cancel_consequences"}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_ask_cancel_confirmed"}},
        {"event": "user", "text": "嗯？", "parse_data": {}},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_confirm_not_understood"}},
    ]
    tracker = make_tracker(slots=_verified(runtime, subscription_id=tencent), events=earlier)
    _, dispatcher = _run(ActionAskCancelConfirmed(), tracker)
    assert _responses(dispatcher) == ["utter_ask_cancel_confirmed"]


def test_question_for_a_newly_selected_membership_says_the_details_again(
    runtime, subscription_of
) -> None:
    """A subscription_id set after the consequences were said means they are said again."""
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    qq = str(subscription_of(ZHANG, "QQ音乐绿钻"))
    earlier = [
        {"event": "slot", "name": "subscription_id", "value": tencent},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_cancel_consequences"}},
        {"event": "slot", "name": "subscription_id", "value": qq},
    ]
    tracker = make_tracker(slots=_verified(runtime, subscription_id=qq), events=earlier)
    _, dispatcher = _run(ActionAskCancelConfirmed(), tracker)
    assert _responses(dispatcher) == [
        "utter_subscription_status",
        "utter_cancel_consequences",
        "utter_ask_cancel_confirmed",
    ]
    assert dispatcher.messages[0]["service"] == "QQ音乐绿钻"


def test_question_about_someone_elses_membership_is_refused(runtime, subscription_of) -> None:
    """A subscription_id of another holder is dropped and nothing about it is said."""
    other = subscription_of(LI, "爱奇艺黄金VIP")
    tracker = make_tracker(slots=_verified(runtime, subscription_id=str(other)))
    events, dispatcher = _run(ActionAskCancelConfirmed(), tracker)
    assert events == [SlotSet("subscription_id", None)]
    assert dispatcher.messages == []


# --- the cancellation ----------------------------------------------------------------------


def test_confirmed_cancellation(runtime, subscription_of, outbox_path) -> None:
    """Confirmed: cancelled in the store, reference said, receipt sent, then the reason."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    events, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, tencent))

    assert _responses(dispatcher) == ["utter_cancelled"]
    said = dispatcher.messages[0]
    reference = said["reference"]
    assert REFERENCE_RE.match(reference)
    assert is_valid_reference(reference)
    assert reference.startswith("TD20261124")
    assert said["service"] == "腾讯视频VIP"
    assert said["effective_until"] == "12月4日"
    assert said["masked_phone"] == "138****8000"

    sub = runtime.store.subscription(tencent)
    assert (sub.status, sub.auto_renew, sub.next_charge_at) == ("cancelled", False, None)
    assert sub.reference == reference
    stored = runtime.store.cancellation(reference)
    assert (stored.phone, stored.channel, stored.product_name) == (ZHANG, "rest", "腾讯视频VIP")

    receipts = _receipts(outbox_path, ZHANG)
    assert len(receipts) == 1 and reference in receipts[0]

    assert events == CLEARED + [
        SlotSet("batch_references", [reference]),
        SlotSet("reason_asked", True),
        SlotSet("next_step", "reason"),
    ]


def test_same_cancellation_twice_gives_the_same_reference(
    runtime, subscription_of, outbox_path
) -> None:
    """Running the action again in the same conversation cancels once, same reference, and
    sends one receipt."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    _, first = _run(ActionCancelSubscription(), _cancel_turn(runtime, tencent))
    _, second = _run(ActionCancelSubscription(), _cancel_turn(runtime, tencent))
    assert _responses(second) == ["utter_cancelled"]
    reference = first.messages[0]["reference"]
    assert second.messages[0]["reference"] == reference
    assert _cancellation_count(runtime) == 2  # the seeded 咪咕 one and this one
    receipts = [m for m in read_outbox(outbox_path) if reference in m["text"]]
    assert len(receipts) == 1


def test_not_confirmed_changes_nothing(runtime, subscription_of, outbox_path) -> None:
    """cancel_confirmed False: utter_cancel_aborted, store and outbox unchanged."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    before = runtime.store.subscription(tencent)
    events, dispatcher = _run(
        ActionCancelSubscription(),
        _cancel_turn(
            runtime,
            tencent,
            confirmed=False,
            pending_subscriptions=[str(subscription_of(ZHANG, "QQ音乐绿钻"))],
        ),
    )
    assert _responses(dispatcher) == ["utter_cancel_aborted", "utter_ask_another"]
    assert dispatcher.messages[0]["service"] == "腾讯视频VIP"
    assert runtime.store.subscription(tencent) == before
    assert _cancellation_count(runtime) == 1
    assert read_outbox(outbox_path) == []
    assert events == CLEARED + [
        SlotSet("pending_subscriptions", []),
        SlotSet("next_step", "another"),
    ]


def test_pending_membership_comes_next(runtime, subscription_of) -> None:
    """With pending_subscriptions the next one is selected and next_step is next_membership."""
    qq = subscription_of(ZHANG, "QQ音乐绿钻")
    tencent = str(subscription_of(ZHANG, "腾讯视频VIP"))
    events, dispatcher = _run(
        ActionCancelSubscription(),
        _cancel_turn(runtime, qq, pending_subscriptions=[tencent]),
    )
    assert _responses(dispatcher) == ["utter_cancelled", "utter_next_membership"]
    assert dispatcher.messages[1]["service"] == "腾讯视频VIP"
    slots = _slots(events)
    assert slots["subscription_id"] == tencent
    assert slots["pending_subscriptions"] == []
    assert slots["next_step"] == "next_membership"
    assert slots["cancel_confirmed"] is None
    assert slots["batch_references"] == [dispatcher.messages[0]["reference"]]
    assert runtime.store.subscription(qq).status == "cancelled"
    assert runtime.store.subscription(int(tencent)).status == "active"


def test_last_of_a_batch_after_the_reason_offers_another(runtime, subscription_of) -> None:
    """Once the reason was asked in this batch, the next cancellation offers another one."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    events, dispatcher = _run(
        ActionCancelSubscription(),
        _cancel_turn(runtime, tencent, reason_asked=True, batch_references=["TD20261124AAAAAX"]),
    )
    assert _responses(dispatcher) == ["utter_cancelled", "utter_ask_another"]
    slots = _slots(events)
    assert slots["next_step"] == "another"
    assert slots["batch_references"][0] == "TD20261124AAAAAX"
    assert len(slots["batch_references"]) == 2


@pytest.mark.parametrize(
    ("mode", "response"), [("fail", "utter_partner_failed"), ("timeout", "utter_partner_timeout")]
)
def test_partner_failure_cancels_nothing(
    runtime, subscription_of, partners, outbox_path, mode: str, response: str
) -> None:
    """爱奇艺黄金VIP (支付宝) with the partner failing or timing out: said, nothing cancelled."""
    partners["alipay"].mode = mode
    iqiyi = subscription_of(LI, "爱奇艺黄金VIP")
    events, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, iqiyi, LI))
    assert _responses(dispatcher) == [response, "utter_ask_another"]
    said = dispatcher.messages[0]
    assert said["partner"] == "支付宝"
    assert said["service"] == "爱奇艺黄金VIP"
    assert "免密支付/自动扣款" in said["steps"]
    assert "reference" not in said
    assert len(partners["alipay"].calls) == 1
    assert partners["alipay"].calls[0]["agreement_id"] == "ALIPAY-AGR-2024000158"
    assert runtime.store.subscription(iqiyi).status == "active"
    assert runtime.store.subscription(iqiyi).reference is None
    assert "batch_references" not in _slots(events)
    assert _slots(events)["next_step"] == "another"
    assert read_outbox(outbox_path) == []


def test_partner_success_cancels_the_alipay_membership(runtime, subscription_of, partners) -> None:
    """With the partner answering, the 支付宝 membership is cancelled at the partner and here."""
    iqiyi = subscription_of(LI, "爱奇艺黄金VIP")
    _, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, iqiyi, LI))
    assert _responses(dispatcher) == ["utter_cancelled"]
    assert partners["alipay"].calls[0]["idempotency_key"] == f"test-user:{iqiyi}"
    assert runtime.store.subscription(iqiyi).status == "cancelled"


def test_arrears_account_can_cancel(runtime, subscription_of, outbox_path) -> None:
    """13600136000 is in arrears and can still cancel its membership."""
    vinyl = subscription_of(ZHAO, "网易云音乐黑胶VIP")
    _, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, vinyl, ZHAO))
    assert _responses(dispatcher) == ["utter_cancelled"]
    assert runtime.store.subscription(vinyl).status == "cancelled"
    assert dispatcher.messages[0]["reference"] in _receipts(outbox_path, ZHAO)[0]


def test_receipt_failure_still_cancels(runtime, subscription_of) -> None:
    """The SMS gateway down: utter_cancelled_receipt_failed, but the membership is cancelled."""
    runtime.sms = BrokenSms()
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    events, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, tencent))
    assert _responses(dispatcher) == ["utter_cancelled_receipt_failed"]
    reference = dispatcher.messages[0]["reference"]
    assert is_valid_reference(reference)
    assert runtime.sms.attempts == 1
    assert runtime.store.subscription(tencent).status == "cancelled"
    assert _slots(events)["batch_references"] == [reference]
    with runtime.store.session_factory.begin() as session:
        kinds = session.execute(select(SmsMessage.kind, SmsMessage.status)).all()
    assert [tuple(row) for row in kinds] == [("receipt", "failed")]


def test_app_store_subscription_is_never_cancelled_here(runtime, subscription_of) -> None:
    """Even confirmed, an Apple subscription gets the iPhone steps and stays active."""
    baidu = subscription_of(LI, "百度网盘超级会员")
    events, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, baidu, LI))
    assert _responses(dispatcher) == ["utter_app_store_steps", "utter_ask_another"]
    assert runtime.store.subscription(baidu).status == "active"
    assert "batch_references" not in _slots(events)


def test_someone_elses_membership_is_not_cancelled(runtime, subscription_of) -> None:
    """A subscription_id of another holder is ignored: nothing said, nothing cancelled."""
    other = subscription_of(LI, "爱奇艺黄金VIP")
    events, dispatcher = _run(ActionCancelSubscription(), _cancel_turn(runtime, other, ZHANG))
    assert dispatcher.messages == []
    assert runtime.store.subscription(other).status == "active"
    assert events == CLEARED + [SlotSet("next_step", "listen")]


def test_unverified_cancellation_does_nothing(runtime, subscription_of, clock) -> None:
    """An identity that expired before the action ran cancels nothing."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    tracker = _cancel_turn(runtime, tencent)
    clock.advance(seconds=runtime.settings.verified_idle_seconds + 1)
    _run(ActionCancelSubscription(), tracker)
    assert runtime.store.subscription(tencent).status == "active"


# --- endings without a cancellation ------------------------------------------------------


def test_none_active_says_so(runtime) -> None:
    """selection_note none_active: utter_no_active_subscriptions and listen."""
    tracker = make_tracker(slots=_verified(runtime, WANG, selection_note="none_active"))
    events, dispatcher = _run(ActionCancelSubscription(), tracker)
    assert _responses(dispatcher) == ["utter_no_active_subscriptions"]
    assert dispatcher.messages[0]["masked_phone"] == "137****7000"
    assert events == CLEARED + [SlotSet("next_step", "listen")]


@pytest.mark.parametrize("note", ["already_cancelled", "app_store"])
def test_note_already_explained_offers_another(runtime, note: str) -> None:
    """already_cancelled / app_store were explained by the form: offer another one."""
    tracker = make_tracker(slots=_verified(runtime, selection_note=note))
    events, dispatcher = _run(ActionCancelSubscription(), tracker)
    assert _responses(dispatcher) == ["utter_ask_another"]
    assert events == CLEARED + [SlotSet("next_step", "another")]


def test_no_selection_after_an_explanation_just_listens(runtime) -> None:
    """Without a selected membership, after this turn already said why (a lockout), nothing
    more is said and the bot listens."""
    said = {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_phone_locked"}}
    tracker = make_tracker(slots=_verified(runtime))
    tracker.events.append(said)
    events, dispatcher = _run(ActionCancelSubscription(), tracker)
    assert dispatcher.messages == []
    assert events == CLEARED + [SlotSet("next_step", "listen")]


def test_no_selection_in_a_silent_turn_asks_what_is_needed(runtime) -> None:
    """A form that ended with nothing to act on and nothing said never leaves a silent turn."""
    events, dispatcher = _run(ActionCancelSubscription(), make_tracker(slots=_verified(runtime)))
    assert [m["response"] for m in dispatcher.messages] == ["utter_how_can_help"]
    assert events == CLEARED + [SlotSet("next_step", "listen")]


# --- after the reason, and giving up ------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("太贵了", ["utter_reason_thanks", "utter_ask_another"]),
        ("__skipped__", ["utter_ask_another"]),
        (None, ["utter_ask_another"]),
    ],
)
def test_after_reason(runtime, reason, expected) -> None:
    """Thanks only for a real reason, then the offer of another cancellation."""
    events, dispatcher = _run(ActionAfterReason(), make_tracker(slots={"cancel_reason": reason}))
    assert _responses(dispatcher) == expected
    assert events == [SlotSet("cancel_reason", None), SlotSet("next_step", "another")]


def test_stop_flow_clears_everything(runtime) -> None:
    """action_stop_flow deactivates the form, clears its slots and says nothing changed."""
    events, dispatcher = _run(ActionStopFlow(), make_tracker(active_loop="cancel_form"))
    assert _responses(dispatcher) == ["utter_flow_stopped"]
    assert events == [ActiveLoop(None)] + CLEARED + [
        SlotSet("pending_subscriptions", []),
        SlotSet("next_step", "listen"),
    ]
