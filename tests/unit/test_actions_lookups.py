"""Looking things up: memberships, earlier cancellations, charges and refunds, general answers.

Covers actions/subscriptions.py, actions/refunds.py, actions/refund_offers.py,
actions/memberships.py and actions/information.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select

from actions.information import ActionCancelMethods, ActionExplainConsequences
from actions.refunds import ActionReviewCharges
from actions.subscriptions import (
    ActionAfterIdentity,
    ActionCheckSubscriptions,
    ActionQueryCancellation,
)
from core.references import ALPHABET, check_character, is_valid_reference
from core.store.models import RefundCase
from tests.conftest import entity, make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import run_action as _run
from tests.unit.action_helpers import verified_slots as _verified

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"


def _migu_reference(runtime) -> str:
    (item,) = runtime.store.cancellations(ZHANG)
    return item.reference


def _refund_cases(runtime) -> List[tuple]:
    with runtime.store.session_factory.begin() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(RefundCase.reference, RefundCase.charge_id, RefundCase.status)
            )
        ]


# --- action_query_cancellation -------------------------------------------------------------


def test_query_by_reference_alone_says_only_status_and_date(runtime) -> None:
    """Unverified, a reference reveals that it exists, its status and date: no membership,
    no number; the goal is kept so the details follow verification."""
    reference = _migu_reference(runtime)
    tracker = make_tracker(
        intent="query_cancellation",
        text=f"查一下单号{reference}",
        entities=[entity("reference_number", reference)],
    )
    events, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert events == [SlotSet("goal", "query")]
    assert _responses(dispatcher) == ["utter_cancellation_status_brief"]
    said = dispatcher.messages[0]
    assert said["reference"] == reference
    assert said["requested_date"] == "11月4日"
    assert "咪咕" not in str(dispatcher.messages)
    assert "8000" not in str(dispatcher.messages)


def test_query_by_reference_gives_details_to_the_verified_holder(runtime) -> None:
    """The seeded 咪咕 reference, asked by its verified holder: details with the phone masked."""
    reference = _migu_reference(runtime)
    tracker = make_tracker(
        slots=_verified(runtime),
        intent="query_cancellation",
        text=f"查一下单号{reference}",
        entities=[entity("reference_number", reference)],
    )
    events, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert events == []
    assert _responses(dispatcher) == ["utter_cancellation_status"]
    said = dispatcher.messages[0]
    assert said["reference"] == reference
    assert said["service"] == "咪咕视频钻石会员"
    assert said["requested_date"] == "11月4日"
    assert said["effective_until"] == "11月19日"
    assert said["masked_phone"] == "138****8000"
    assert ZHANG not in str(dispatcher.messages)


def test_query_by_reference_of_another_holder_stays_brief(runtime) -> None:
    """Verified as another number, someone else's reference still gets the brief answer."""
    reference = _migu_reference(runtime)
    tracker = make_tracker(
        slots=_verified(runtime, phone="13900139000"),
        intent="query_cancellation",
        text=reference,
        entities=[entity("reference_number", reference)],
    )
    _, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_cancellation_status_brief"]


def test_query_by_reference_as_typed(runtime) -> None:
    """A reference said in lower case with spaces is found."""
    reference = _migu_reference(runtime)
    typed = f"{reference[:6].lower()} {reference[6:].lower()}"
    tracker = make_tracker(
        intent="query_cancellation", text=typed, entities=[entity("reference_number", typed)]
    )
    _, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_cancellation_status_brief"]
    assert dispatcher.messages[0]["reference"] == reference


def test_query_with_a_wrong_check_character(runtime) -> None:
    """A reference whose check character is wrong gets utter_reference_invalid."""
    reference = _migu_reference(runtime)
    wrong = reference[:-1] + next(c for c in ALPHABET if c != reference[-1])
    assert not is_valid_reference(wrong)
    tracker = make_tracker(
        intent="query_cancellation", text=wrong, entities=[entity("reference_number", wrong)]
    )
    _, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_reference_invalid"]
    assert dispatcher.messages[0]["reference"] == wrong


def test_query_with_an_unknown_valid_reference(runtime) -> None:
    """A well-formed reference that was never issued gets utter_reference_not_found."""
    payload = "20261124" + "ZZZZZ"
    unknown = "TD" + payload + check_character(payload)
    assert is_valid_reference(unknown)
    tracker = make_tracker(
        intent="query_cancellation", text=unknown, entities=[entity("reference_number", unknown)]
    )
    _, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_reference_not_found"]
    assert dispatcher.messages[0]["reference"] == unknown


def test_query_without_reference_or_identity_asks_for_one(runtime) -> None:
    """No reference and not verified: utter_ask_reference_or_phone and goal query."""
    tracker = make_tracker(intent="query_cancellation", text="上周取消的办好了吗")
    events, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_privacy_notice", "utter_ask_reference_or_phone"]
    assert events == [SlotSet("goal", "query"), SlotSet("privacy_notice_given", True)]


def test_query_when_verified_lists_the_cancellations(runtime) -> None:
    """Verified: every cancellation of the holder with its reference, identity kept alive."""
    reference = _migu_reference(runtime)
    tracker = make_tracker(slots=_verified(runtime), intent="query_cancellation", text="退订记录")
    events, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_cancellation_list"]
    assert dispatcher.messages[0]["masked_phone"] == "138****8000"
    assert dispatcher.messages[0]["items"] == (
        f"1. 咪咕视频钻石会员：11月4日取消，凭证号{reference}，权益到11月19日"
    )
    assert events == [SlotSet("verified_at", runtime.epoch())]


def test_query_when_verified_without_cancellations(runtime) -> None:
    """A verified holder who never cancelled gets utter_no_cancellations."""
    tracker = make_tracker(slots=_verified(runtime, LI), intent="query_cancellation")
    _, dispatcher = _run(ActionQueryCancellation(), tracker)
    assert _responses(dispatcher) == ["utter_no_cancellations"]
    assert dispatcher.messages[0]["masked_phone"] == "139****9000"


# --- action_check_subscriptions ------------------------------------------------------------


def test_check_unverified_asks_for_the_phone(runtime) -> None:
    """Before verification: utter_ask_phone_for_check and goal check."""
    events, dispatcher = _run(
        ActionCheckSubscriptions(), make_tracker(intent="check_subscription", text="我开了哪些会员")
    )
    assert _responses(dispatcher) == ["utter_privacy_notice", "utter_ask_phone_for_check"]
    assert events == [SlotSet("goal", "check"), SlotSet("privacy_notice_given", True)]


def test_check_verified_shows_the_overview(runtime) -> None:
    """Verified: every membership with price, channel and next charge, then the monthly total."""
    events, dispatcher = _run(
        ActionCheckSubscriptions(), make_tracker(slots=_verified(runtime), text="我开了哪些会员")
    )
    assert _responses(dispatcher) == ["utter_subscriptions_overview", "utter_subscriptions_total"]
    assert dispatcher.messages[0]["masked_phone"] == "138****8000"
    assert dispatcher.messages[0]["items"].split("\n") == [
        "1. QQ音乐绿钻（连续包月 ¥15/月，话费代扣，下次扣费11月27日）",
        "2. 腾讯视频VIP（连续包月 ¥25/月，话费代扣，下次扣费12月4日）",
        "3. 咪咕视频钻石会员（连续包月 ¥20/月，话费代扣，已于11月4日取消，权益到11月19日）",
    ]
    assert dispatcher.messages[1]["total"] == "¥40/月"
    assert events == [SlotSet("verified_at", runtime.epoch())]


def test_the_overview_asked_a_third_time_offers_other_ways_first(runtime) -> None:
    """The overview ends asking which one to cancel: the third time in a row, another way
    (a human, the operator's channels) comes before it, and the question is still asked."""

    def shown() -> List[Dict[str, Any]]:
        overview = ["utter_subscriptions_overview", "utter_subscriptions_total"]
        return [{"event": "bot", "text": r, "metadata": {"utter_action": r}} for r in overview]

    def said(text: str) -> Dict[str, Any]:
        return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}}

    twice = [said("我开了哪些会员"), *shown(), said("第五个"), *shown()]
    tracker = make_tracker(slots=_verified(runtime), text="这个月扣几笔", events=twice)
    _, dispatcher = _run(ActionCheckSubscriptions(), tracker)
    assert _responses(dispatcher) == [
        "utter_other_ways",
        "utter_subscriptions_overview",
        "utter_subscriptions_total",
    ]
    once = make_tracker(slots=_verified(runtime), text="再看看", events=twice[:3])
    _, dispatcher = _run(ActionCheckSubscriptions(), once)
    assert "utter_other_ways" not in _responses(dispatcher)


def test_check_total_spreads_quarters_and_years_over_months(runtime) -> None:
    """¥58/季 + ¥248/年 is about ¥40 a month."""
    _, dispatcher = _run(ActionCheckSubscriptions(), make_tracker(slots=_verified(runtime, LI)))
    assert dispatcher.messages[1]["total"] == "¥40/月"


def test_check_holder_without_memberships(runtime) -> None:
    """13700137000 holds nothing: utter_no_subscriptions."""
    _, dispatcher = _run(ActionCheckSubscriptions(), make_tracker(slots=_verified(runtime, WANG)))
    assert _responses(dispatcher) == ["utter_no_subscriptions"]
    assert dispatcher.messages[0]["masked_phone"] == "137****7000"


def test_check_holder_with_only_cancelled_memberships(runtime, subscription_of) -> None:
    """With everything cancelled the list is followed by utter_no_active_subscriptions."""
    runtime.store.cancel(
        subscription_of(ZHAO, "网易云音乐黑胶VIP"),
        phone=ZHAO,
        channel="rest",
        conversation_id="c",
        idempotency_key="k",
    )
    _, dispatcher = _run(ActionCheckSubscriptions(), make_tracker(slots=_verified(runtime, ZHAO)))
    assert _responses(dispatcher) == [
        "utter_subscriptions_overview",
        "utter_no_active_subscriptions",
    ]


# --- action_review_charges -----------------------------------------------------------------


def test_review_unverified_asks_for_the_phone(runtime) -> None:
    """Before verification: utter_ask_phone_for_charge and goal charge, no case opened."""
    events, dispatcher = _run(
        ActionReviewCharges(), make_tracker(intent="report_unexpected_charge", text="怎么还扣我钱")
    )
    assert _responses(dispatcher) == ["utter_privacy_notice", "utter_ask_phone_for_charge"]
    assert events == [SlotSet("goal", "charge"), SlotSet("privacy_notice_given", True)]
    assert _refund_cases(runtime) == []


def test_review_lists_and_offers_the_charge_after_cancellation(runtime) -> None:
    """13800138000: every charge of 90 days is listed; the 咪咕 charge taken after its
    cancellation is offered for a refund request, and no case is opened without a yes
    (tests/unit/test_refund_consent.py covers the yes)."""
    tracker = make_tracker(slots=_verified(runtime), intent="report_unexpected_charge")
    events, dispatcher = _run(ActionReviewCharges(), tracker)
    assert _responses(dispatcher) == [
        "utter_charges_overview",
        "utter_charge_explained_plain",
        "utter_refund_offer",
    ]
    overview = dispatcher.messages[0]
    assert overview["days"] == 90
    assert overview["items"].split("\n") == [
        "1. 11月22日 咪咕视频钻石会员 ¥20（在11月4日取消之后扣的）",
        "2. 11月4日 腾讯视频VIP ¥25",
        "3. 10月27日 QQ音乐绿钻 ¥15",
        "4. 10月19日 咪咕视频钻石会员 ¥20",
        "5. 10月4日 腾讯视频VIP ¥25",
        "6. 9月27日 QQ音乐绿钻 ¥15",
        "7. 9月19日 咪咕视频钻石会员 ¥20",
        "8. 9月4日 腾讯视频VIP ¥25",
        "9. 8月27日 QQ音乐绿钻 ¥15",
    ]
    assert dispatcher.messages[1]["which"] == "其他"
    assert dispatcher.messages[2]["items"] == "11月22日咪咕视频钻石会员的¥20（发生在您取消之后）"

    migu_charge = next(c for c in runtime.store.review_charges(ZHANG) if c.after_cancellation)
    assert migu_charge.refund_reference is None
    assert _refund_cases(runtime) == []
    assert events == [
        SlotSet("verified_at", runtime.epoch()),
        SlotSet("refund_offer", [migu_charge.charge_id]),
    ]


def test_review_twice_opens_no_case(runtime) -> None:
    """Reviewing again offers again; still no case."""
    tracker = make_tracker(slots=_verified(runtime), intent="report_unexpected_charge")
    _, first = _run(ActionReviewCharges(), tracker)
    _, second = _run(ActionReviewCharges(), tracker)
    assert _responses(second) == _responses(first)
    assert _refund_cases(runtime) == []


def test_review_offers_yesterdays_charge(runtime) -> None:
    """13600136000: yesterday's charge is within the refund window: offered, not filed."""
    tracker = make_tracker(slots=_verified(runtime, ZHAO), intent="report_unexpected_charge")
    _, dispatcher = _run(ActionReviewCharges(), tracker)
    assert _responses(dispatcher) == ["utter_charges_overview", "utter_refund_offer"]
    assert dispatcher.messages[0]["items"] == "1. 11月23日 网易云音乐黑胶VIP ¥15"
    assert (
        dispatcher.messages[1]["items"] == "11月23日网易云音乐黑胶VIP的¥15（在可申请退款的时间内）"
    )
    assert _refund_cases(runtime) == []


def test_review_of_another_named_membership_offers_nothing(runtime) -> None:
    """A charge inside the window is not offered when the user asked about another membership."""
    tracker = make_tracker(
        slots=_verified(runtime, ZHAO, service=["腾讯视频VIP"]),
        intent="report_unexpected_charge",
        text="腾讯视频怎么扣我钱",
        entities=[entity("service", "腾讯视频VIP")],
    )
    _, dispatcher = _run(ActionReviewCharges(), tracker)
    assert _responses(dispatcher) == [
        "utter_charge_claim_not_found",
        "utter_charges_overview",
        "utter_complaint_channels",
        "utter_charge_explained",
    ]
    assert _refund_cases(runtime) == []


def test_review_without_charges(runtime) -> None:
    """13700137000 was never charged: utter_no_charges."""
    _, dispatcher = _run(ActionReviewCharges(), make_tracker(slots=_verified(runtime, WANG)))
    assert _responses(dispatcher) == ["utter_no_charges"]
    assert dispatcher.messages[0]["days"] == 90
    assert dispatcher.messages[0]["masked_phone"] == "137****7000"


# --- action_after_identity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "first_response"),
    [
        ("charge", "utter_charges_overview"),
        ("query", "utter_cancellation_list"),
        ("check", "utter_subscriptions_overview"),
        (None, "utter_subscriptions_overview"),
    ],
)
def test_after_identity_answers_the_remembered_goal(runtime, goal, first_response) -> None:
    """After verification the question asked before it is answered and the goal cleared."""
    events, dispatcher = _run(
        ActionAfterIdentity(), make_tracker(slots=_verified(runtime, goal=goal))
    )
    assert _responses(dispatcher)[0] == first_response
    assert events[:2] == [SlotSet("goal", None), SlotSet("selection_note", None)]
    # A charge review also says which charges (if any) it offered for a refund request.
    assert [e["name"] for e in events[2:]] == (["refund_offer"] if goal == "charge" else [])


def test_after_identity_without_identity_says_nothing(runtime) -> None:
    """Without a verified holder nothing is shown."""
    events, dispatcher = _run(ActionAfterIdentity(), make_tracker(slots={"goal": "check"}))
    assert dispatcher.messages == []
    assert events == [SlotSet("goal", None), SlotSet("selection_note", None)]


# --- action_cancel_methods -----------------------------------------------------------------


def test_cancel_methods_use_the_configured_numbers(runtime) -> None:
    """The hotline and SMS keyword come from the settings."""
    runtime.settings = replace(
        runtime.settings,
        operator_hotline="10010",
        cancel_sms_number="10655",
        cancel_sms_keyword="TD",
    )
    events, dispatcher = _run(
        ActionCancelMethods(), make_tracker(intent="ask_cancel_methods", text="有哪些取消方式")
    )
    assert events == []
    assert _responses(dispatcher) == ["utter_cancel_methods"]
    said = dispatcher.messages[0]
    assert (said["hotline"], said["sms_number"], said["sms_keyword"]) == ("10010", "10655", "TD")


@pytest.mark.parametrize("text", ["支付宝扣的怎么关", "微信续费怎么取消", "苹果手机上的怎么退"])
def test_cancel_methods_add_third_party_steps(runtime, text: str) -> None:
    """A question about 支付宝/微信/苹果 also gets utter_third_party_methods."""
    tracker = make_tracker(intent="ask_cancel_methods", text=text)
    _, dispatcher = _run(ActionCancelMethods(), tracker)
    assert _responses(dispatcher) == ["utter_cancel_methods", "utter_third_party_methods"]


# --- action_explain_consequences -----------------------------------------------------------


def test_consequences_general(runtime) -> None:
    """Without a selected membership only the general rules are said."""
    events, dispatcher = _run(
        ActionExplainConsequences(), make_tracker(intent="ask_consequences", text="取消了钱会退吗")
    )
    assert events == []
    assert _responses(dispatcher) == ["utter_consequences_general"]
    assert dispatcher.messages[0]["refund_days"] == 7


def test_consequences_specific(runtime, subscription_of) -> None:
    """With a selected membership its own dates and price follow."""
    tencent = subscription_of(ZHANG, "腾讯视频VIP")
    tracker = make_tracker(slots=_verified(runtime, subscription_id=str(tencent)))
    _, dispatcher = _run(ActionExplainConsequences(), tracker)
    assert _responses(dispatcher) == ["utter_consequences_general", "utter_consequences_specific"]
    specific = dispatcher.messages[1]
    assert (specific["service"], specific["period_end"], specific["price"]) == (
        "腾讯视频VIP",
        "12月4日",
        "¥25/月",
    )


def test_consequences_of_someone_elses_membership_stay_general(runtime, subscription_of) -> None:
    """A subscription_id of another holder gives only the general rules."""
    other = subscription_of(LI, "爱奇艺黄金VIP")
    tracker = make_tracker(slots=_verified(runtime, subscription_id=str(other)))
    _, dispatcher = _run(ActionExplainConsequences(), tracker)
    assert _responses(dispatcher) == ["utter_consequences_general"]


def test_dates_are_shanghai_dates(runtime) -> None:
    """The seed's 'today' is 2026-11-24 in Shanghai, the base of every date above."""
    local = runtime.clock().astimezone(ZoneInfo(runtime.settings.timezone))
    assert local.date() == date(2026, 11, 24)
