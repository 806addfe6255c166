"""A refund case only with the user's yes: the review lists, says what agrees with the user's
description and asks; file_offered_refunds opens only what was offered, to the holder it was
offered to, after that very question (actions/refund_offers.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.charge_claims import local_day, matches, read_claim
from actions.refund_offers import (
    OFFER_SLOT,
    claim_messages,
    decline_refunds,
    file_offered_refunds,
    offer_pending,
)
from actions.refunds import ActionReviewCharges
from actions.subscriptions import ActionAfterIdentity
from tests.conftest import entity, make_tracker
from tests.unit.action_helpers import prove_phone, responses, run_action, verified_slots
from turns.questions import QUESTIONS

ZHANG, ZHAO = "13800138000", "13600136000"
TZ = "Asia/Shanghai"
RESPONSES = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8")
)["responses"]
REPORTED = "你好，我上个月莫名其妙被扣了30块钱，是什么情况"


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    """What the user reads: each response filled in; fails on a missing variable."""
    out = []
    for message in dispatcher.messages:
        template = RESPONSES[message["response"]][0]["text"]
        names = set(re.findall(r"{(\w+)}", template))
        missing = names - set(message)
        assert not missing, f"{message['response']} lacks {missing}"
        out.append(template.format(**{name: message[name] for name in names}))
    return out


def case_count(runtime: Any) -> int:
    """How many refund cases the store holds."""
    return len(runtime.store.state_of([]).refund_cases)


def user(text: str, intent: str, entities: List[Dict[str, Any]] = ()) -> Dict[str, Any]:
    """A user event as Rasa keeps it."""
    parse = {"text": text, "intent": {"name": intent}, "entities": list(entities)}
    return {"event": "user", "text": text, "parse_data": parse, "input_channel": "rest"}


def bot_turn(dispatcher: CollectingDispatcher) -> List[Dict[str, Any]]:
    """The bot events a turn's messages become (each names its response)."""
    return [
        {"event": "bot", "text": text, "metadata": {"utter_action": message["response"]}}
        for message, text in zip(dispatcher.messages, texts(dispatcher), strict=True)
    ]


def slot(events: List[Any], name: str) -> Any:
    """The value `name` is last set to in `events`."""
    values = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == name]
    assert values, f"{name} not set"
    return values[-1]


def review(runtime: Any, phone: str, text: str, services: List[str] = ()) -> tuple:
    """Runs action_review_charges for a verified holder who just said `text`."""
    tracker = make_tracker(
        slots=verified_slots(runtime, phone),
        intent="report_unexpected_charge",
        text=text,
        entities=[entity("service", s) for s in services],
    )
    events, dispatcher = run_action(ActionReviewCharges(), tracker)
    # One question per turn, whatever the case, and it comes last: it is what the user answers.
    asked = [r for r in responses(dispatcher) if r in QUESTIONS]
    assert len(asked) <= 1 and (not asked or responses(dispatcher)[-1] == asked[0])
    return tracker, events, dispatcher


def answer_offer(
    runtime: Any,
    phone: str,
    review_text: str,
    answer: str = "好的",
    intent: str = "affirm",
    entities: List[Dict[str, Any]] = (),
) -> tuple:
    """Reviews, then answers the offer: (tracker of the answer, offered ids)."""
    first, events, dispatcher = review(runtime, phone, review_text)
    assert responses(dispatcher)[-1] == "utter_refund_offer"
    offered = slot(events, OFFER_SLOT)
    history = list(first.events) + bot_turn(dispatcher)
    tracker = make_tracker(
        slots={**first.slots, OFFER_SLOT: offered},
        intent=intent,
        text=answer,
        entities=list(entities),
        events=history,
    )
    return tracker, offered


# --- the review asks, and opens nothing -------------------------------------------------------


def test_the_reported_exchange_says_nothing_matches_and_files_nothing(runtime) -> None:
    """上个月 30块 for 13600136000, whose only charge is yesterday's ¥15: said so, listed,
    no offer for a charge the user did not describe, no case."""
    _, events, dispatcher = review(runtime, ZHAO, REPORTED)
    assert responses(dispatcher) == [
        "utter_charge_claim_not_found",
        "utter_charges_overview",
        "utter_complaint_channels",
        "utter_charge_explained",
    ]
    said = texts(dispatcher)
    assert said[0].startswith("没有找到与您说的“上个月、¥30”相符的会员扣费")
    assert said[1] == "近90天的会员扣费：\n1. 11月23日 网易云音乐黑胶VIP ¥15"
    assert said[3].startswith("以上扣费都是")
    assert "已为您提交" not in "".join(said) and "RF" not in "".join(said)
    assert slot(events, OFFER_SLOT) is None
    assert case_count(runtime) == 0


def test_an_undescribed_charge_in_the_window_is_offered_not_filed(runtime) -> None:
    """No description: yesterday's ¥15 may be refunded, so the user is asked; no case yet."""
    _, events, dispatcher = review(runtime, ZHAO, "怎么扣我钱了")
    assert responses(dispatcher) == ["utter_charges_overview", "utter_refund_offer"]
    assert texts(dispatcher)[1].startswith(
        "需要我为11月23日网易云音乐黑胶VIP的¥15（在可申请退款的时间内）提交退款申请吗？"
    )
    (charge,) = runtime.store.review_charges(ZHAO)
    assert slot(events, OFFER_SLOT) == [charge.charge_id]
    assert case_count(runtime) == 0


def test_a_matching_description_is_pointed_out_and_offered(runtime) -> None:
    """昨天 15块: the list says which line it is, then the offer."""
    _, events, dispatcher = review(runtime, ZHAO, "昨天莫名其妙扣了我15块")
    assert responses(dispatcher) == [
        "utter_charges_overview",
        "utter_charge_claim_matched",
        "utter_refund_offer",
    ]
    assert texts(dispatcher)[1] == "与您说的“昨天、¥15”相符的是第1条。"
    assert len(slot(events, OFFER_SLOT)) == 1
    assert case_count(runtime) == 0


def test_the_charge_after_cancellation_is_offered_and_the_rest_explained(runtime) -> None:
    """13800138000: the 咪咕 charge after its cancellation is offered; the explanation of the
    other charges offers nothing, so the refund offer is the turn's only question."""
    _, events, dispatcher = review(runtime, ZHANG, "都取消了怎么还扣我钱")
    assert responses(dispatcher) == [
        "utter_charges_overview",
        "utter_charge_explained_plain",
        "utter_refund_offer",
    ]
    said = texts(dispatcher)
    assert said[1] == "其他扣费都是您开通中的会员按期正常续费。"
    assert "11月22日咪咕视频钻石会员的¥20（发生在您取消之后）" in said[2]
    (migu,) = (c for c in runtime.store.review_charges(ZHANG) if c.after_cancellation)
    assert slot(events, OFFER_SLOT) == [migu.charge_id]
    assert case_count(runtime) == 0


def test_a_described_membership_narrows_the_offer(runtime) -> None:
    """腾讯视频 25块: its three charges are pointed out; none qualifies, so none of them is
    offered; the 咪咕 charge taken after its cancellation is offered all the same (it should
    never have been taken), and nothing is filed."""
    _, events, dispatcher = review(runtime, ZHANG, "腾讯视频怎么扣了25", ["腾讯视频VIP"])
    said = responses(dispatcher)
    assert said[:2] == ["utter_charges_overview", "utter_charge_claim_matched"]
    assert said[-1] == "utter_refund_offer"
    assert texts(dispatcher)[1] == "与您说的“¥25、腾讯视频VIP”相符的是第2、5、8条。"
    offered = slot(events, OFFER_SLOT)
    charges = {c.charge_id: c for c in runtime.store.review_charges(ZHANG)}
    assert offered and all(charges[i].after_cancellation for i in offered)
    assert all(charges[i].product_name == "咪咕视频钻石会员" for i in offered)
    assert case_count(runtime) == 0


def test_another_membership_named_in_the_message_matches_nothing(runtime) -> None:
    """13600136000 asking about 腾讯视频, which never charged them: said so, nothing offered."""
    _, events, dispatcher = review(runtime, ZHAO, "腾讯视频扣我钱", ["腾讯视频VIP"])
    assert responses(dispatcher)[0] == "utter_charge_claim_not_found"
    assert "utter_refund_offer" not in responses(dispatcher)
    assert slot(events, OFFER_SLOT) is None


def test_a_membership_left_in_the_slot_from_before_is_not_the_claim(runtime) -> None:
    """The service slot may still hold a membership named earlier: only the messages of the
    charge question describe the charge."""
    tracker = make_tracker(
        slots=verified_slots(runtime, ZHAO, service=["腾讯视频VIP"]),
        intent="report_unexpected_charge",
        text="怎么扣我钱了",
    )
    events, dispatcher = run_action(ActionReviewCharges(), tracker)
    assert responses(dispatcher)[-1] == "utter_refund_offer"
    assert slot(events, OFFER_SLOT)


def test_a_charge_with_a_case_says_its_number_and_is_not_offered_again(runtime) -> None:
    """A charge that already has a case: its number is said, no second offer."""
    (charge,) = runtime.store.review_charges(ZHAO)
    case = runtime.store.open_refund_case(
        charge.charge_id, phone=ZHAO, conversation_id="earlier", reason="test"
    )
    _, events, dispatcher = review(runtime, ZHAO, "怎么扣我钱了")
    assert responses(dispatcher) == [
        "utter_charges_overview",
        "utter_refund_case_exists",
        "utter_complaint_channels",
    ]
    assert case.reference in texts(dispatcher)[1]
    assert slot(events, OFFER_SLOT) is None
    assert case_count(runtime) == 1


def test_after_verification_the_first_message_is_the_description(runtime) -> None:
    """The phone and the code came after 上个月30块: the review reads the charge question's
    messages, not just the latest (the code)."""
    prove_phone(runtime, ZHAO)
    history = [
        user(REPORTED, "report_unexpected_charge"),
        {"event": "bot", "metadata": {"utter_action": "utter_ask_phone_for_charge"}},
        user(ZHAO, "inform", [entity("phone_number", ZHAO)]),
        {"event": "bot", "metadata": {"utter_action": "utter_ask_verification_code"}},
    ]
    tracker = make_tracker(
        slots={**verified_slots(runtime, ZHAO), "goal": "charge"},
        intent="inform",
        text="482913",
        events=history,
    )
    assert [e["text"] for e in claim_messages(tracker)] == [REPORTED, ZHAO, "482913"]
    events, dispatcher = run_action(ActionAfterIdentity(), tracker)
    assert responses(dispatcher)[0] == "utter_charge_claim_not_found"
    assert SlotSet("goal", None) in events and slot(events, OFFER_SLOT) is None
    assert case_count(runtime) == 0


def test_claim_messages_stop_at_a_restart() -> None:
    """A charge question from before a restart is not this one."""
    tracker = make_tracker(
        intent="report_unexpected_charge",
        text="怎么扣我钱",
        events=[user(REPORTED, "report_unexpected_charge"), {"event": "restart"}],
    )
    assert [e["text"] for e in claim_messages(tracker)] == ["怎么扣我钱"]


def test_the_third_offer_in_a_row_offers_another_way(runtime) -> None:
    """Asked through actions.asking: the third time, another way comes first."""
    tracker, _, first = review(runtime, ZHAO, "怎么扣我钱了")
    history = list(tracker.events) + bot_turn(first)
    history += [user("怎么扣我钱了", "report_unexpected_charge")] + bot_turn(first)
    again = make_tracker(
        slots=tracker.slots, intent="report_unexpected_charge", text="怎么扣我钱了", events=history
    )
    _, dispatcher = run_action(ActionReviewCharges(), again)
    assert responses(dispatcher)[-2:] == ["utter_other_ways", "utter_refund_offer"]


# --- yes: file what was offered ---------------------------------------------------------------


def test_yes_files_the_offered_charge(runtime) -> None:
    """好的 after the offer: the case is opened, its number said, the offer forgotten."""
    tracker, offered = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    assert offer_pending(tracker)
    dispatcher = CollectingDispatcher()
    events = file_offered_refunds(tracker, dispatcher, runtime)
    assert responses(dispatcher) == ["utter_refund_case_opened", "utter_complaint_channels"]
    said = texts(dispatcher)[0]
    assert said.startswith("已为您提交退款申请：11月23日扣的网易云音乐黑胶VIP¥15，申请单号RF")
    (charge,) = runtime.store.review_charges(ZHAO)
    assert charge.charge_id == offered[0] and charge.refund_reference in said
    assert runtime.store.state_of([]).refund_cases == {charge.refund_reference: "test-user"}
    assert slot(events, OFFER_SLOT) is None


def test_yes_files_the_charge_after_cancellation(runtime) -> None:
    """13800138000: the 咪咕 charge gets its case, with why in the reason."""
    tracker, _ = answer_offer(runtime, ZHANG, "都取消了怎么还扣我钱")
    dispatcher = CollectingDispatcher()
    file_offered_refunds(tracker, dispatcher, runtime)
    assert responses(dispatcher)[0] == "utter_refund_case_opened"
    (migu,) = (c for c in runtime.store.review_charges(ZHANG) if c.after_cancellation)
    assert migu.refund_reference and migu.refund_reference in texts(dispatcher)[0]
    assert case_count(runtime) == 1


def test_yes_without_the_offer_just_asked_files_nothing(runtime) -> None:
    """A yes whose previous turn asked something else is no consent to a refund."""
    (charge,) = runtime.store.review_charges(ZHAO)
    tracker = make_tracker(
        slots={**verified_slots(runtime, ZHAO), OFFER_SLOT: [charge.charge_id]},
        intent="affirm",
        text="好的",
        events=[
            user("怎么扣我钱了", "report_unexpected_charge"),
            {"event": "bot", "metadata": {"utter_action": "utter_refund_offer"}},
            user("取消腾讯视频", "cancel_subscription"),
            {"event": "bot", "metadata": {"utter_action": "utter_ask_cancel_confirmed"}},
        ],
    )
    assert not offer_pending(tracker)
    dispatcher = CollectingDispatcher()
    events = file_offered_refunds(tracker, dispatcher, runtime)
    assert dispatcher.messages == []
    assert slot(events, OFFER_SLOT) is None
    assert case_count(runtime) == 0


def test_offered_ids_of_another_holder_are_not_filed(runtime) -> None:
    """A slot naming someone else's charge (forged, or left from another number) files nothing."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    (migu,) = (c for c in runtime.store.review_charges(ZHANG) if c.after_cancellation)
    forged = make_tracker(
        slots={**tracker.slots, OFFER_SLOT: [migu.charge_id]},
        intent="affirm",
        text="好的",
        events=list(tracker.events)[:-1],
    )
    dispatcher = CollectingDispatcher()
    file_offered_refunds(forged, dispatcher, runtime)
    assert responses(dispatcher) == ["utter_refund_nothing_to_file"]
    assert case_count(runtime) == 0


def test_yes_after_the_session_ended_asks_to_verify_again(runtime) -> None:
    """No verified session any more: nothing is filed; the phone is asked for, goal charge."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    runtime.store.end_session("test-user")
    dispatcher = CollectingDispatcher()
    events = file_offered_refunds(tracker, dispatcher, runtime)
    assert responses(dispatcher) == ["utter_ask_phone_for_charge"]
    assert SlotSet("goal", "charge") in events and slot(events, OFFER_SLOT) is None
    assert case_count(runtime) == 0


def test_a_charge_past_the_window_by_now_is_not_filed(runtime, clock) -> None:
    """The window closed between the offer and the yes: said so, no case."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    clock.advance(days=8)
    prove_phone(runtime, ZHAO)
    dispatcher = CollectingDispatcher()
    file_offered_refunds(tracker, dispatcher, runtime)
    assert responses(dispatcher) == ["utter_refund_not_possible"]
    assert case_count(runtime) == 0


def test_yes_twice_keeps_one_case(runtime) -> None:
    """Filing an offered charge that has its case by now says that case, opens no second."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    first = CollectingDispatcher()
    file_offered_refunds(tracker, first, runtime)
    second = CollectingDispatcher()
    file_offered_refunds(tracker, second, runtime)
    assert responses(second) == ["utter_refund_case_exists"]
    assert first.messages[0]["reference"] == second.messages[0]["reference"]
    assert case_count(runtime) == 1


@pytest.mark.parametrize(
    ("named", "filed"), [("咪咕视频钻石会员", True), ("网易云音乐黑胶VIP", False)]
)
def test_a_membership_named_with_the_yes_narrows_it(runtime, named: str, filed: bool) -> None:
    """“只退咪咕的” files the 咪咕 charge; naming one that was not offered files nothing."""
    tracker, _ = answer_offer(
        runtime, ZHANG, "都取消了怎么还扣我钱", answer=f"只退{named}的",
        entities=[entity("service", named)],
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    file_offered_refunds(tracker, dispatcher, runtime)
    assert case_count(runtime) == (1 if filed else 0)
    expected = "utter_refund_case_opened" if filed else "utter_refund_nothing_to_file"
    assert responses(dispatcher)[0] == expected


# --- no -------------------------------------------------------------------------------------------


def test_no_files_nothing_and_forgets_the_offer(runtime) -> None:
    """不用了 after the offer: said so, nothing filed."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了", answer="不用了", intent="deny")
    dispatcher = CollectingDispatcher()
    events = decline_refunds(tracker, dispatcher)
    assert texts(dispatcher) == ["好的，不提交退款申请。如有疑问可以说“转人工”。"]
    assert events == [SlotSet(OFFER_SLOT, None)]
    assert case_count(runtime) == 0


# --- answering the offer in words of one's own ---------------------------------------------------


def review_again(runtime: Any, tracker: Any, text: str, services: List[str] = ()) -> tuple:
    """action_review_charges on a message classified report_unexpected_charge after the offer."""
    again = make_tracker(
        slots=tracker.slots,
        intent="report_unexpected_charge",
        text=text,
        entities=[entity("service", s) for s in services],
        events=list(tracker.events)[:-1],
    )
    return run_action(ActionReviewCharges(), again)


@pytest.mark.parametrize("text", ["帮我申请退款吧", "好的，退款", "那就退吧", "提交吧"])
def test_asking_for_the_offered_refund_in_words_files_it(runtime, text: str) -> None:
    """Right after the offer, "帮我申请退款" (a charge report to the classifier) is its yes:
    the case is opened instead of the same question again."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    events, dispatcher = review_again(runtime, tracker, text)
    assert responses(dispatcher)[0] == "utter_refund_case_opened"
    assert case_count(runtime) == 1 and slot(events, OFFER_SLOT) is None


@pytest.mark.parametrize(
    "text", ["不用退了", "先不申请退款", "怎么又扣钱了", "钱什么时候退给我", "退15块那笔"]
)
def test_no_or_another_report_after_the_offer_files_nothing(runtime, text: str) -> None:
    """A negation, a question, a report without asking for the refund or a description of
    a charge is no consent: reviewed again (a described charge is offered again)."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    _, dispatcher = review_again(runtime, tracker, text)
    assert "utter_refund_case_opened" not in responses(dispatcher)
    assert case_count(runtime) == 0


def test_asking_to_file_another_charge_reviews_it(runtime) -> None:
    """申请退款 for a charge that was not offered (上个月30块): reviewed, said not found."""
    tracker, _ = answer_offer(runtime, ZHAO, "怎么扣我钱了")
    _, dispatcher = review_again(runtime, tracker, "我要申请退款，是上个月30块那笔")
    assert responses(dispatcher)[0] == "utter_charge_claim_not_found"
    assert case_count(runtime) == 0


@pytest.mark.parametrize(("answer", "filed"), [("好的，20块那笔", True), ("好的，15块那笔", False)])
def test_an_amount_said_with_the_yes_narrows_it(runtime, answer: str, filed: bool) -> None:
    """The yes that names an amount files the offered charge of that amount only."""
    tracker, _ = answer_offer(runtime, ZHANG, "都取消了怎么还扣我钱", answer=answer)
    dispatcher = CollectingDispatcher()
    file_offered_refunds(tracker, dispatcher, runtime)
    assert case_count(runtime) == (1 if filed else 0)


# --- whatever the user describes -----------------------------------------------------------------

DESCRIPTIONS = st.lists(
    st.sampled_from(
        ["上个月", "昨天", "这个月", "11月22日", "十一月四号", "3天前", "上周", "30块", "¥20",
         "二十五块", "15元", "扣了我58", "都取消了", "莫名其妙", ""]
    ),
    max_size=4,
)  # fmt: skip
MEMBERSHIPS = st.lists(
    st.sampled_from(["咪咕视频钻石会员", "腾讯视频VIP", "QQ音乐绿钻", "网易云音乐黑胶VIP"]),
    max_size=2,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.parametrize("phone", [ZHANG, ZHAO])
@given(parts=DESCRIPTIONS, services=MEMBERSHIPS)
def test_a_review_never_files_and_offers_only_what_agrees(runtime, phone, parts, services) -> None:
    """Whatever the description: no case is opened, at most one question and it comes last,
    and the charges offered are exactly those that qualify and agree with the description,
    and any charge taken after its membership was cancelled, described or not."""
    text = "，".join(parts) + "怎么扣我钱"
    _, events, dispatcher = review(runtime, phone, text, services)
    assert case_count(runtime) == 0
    charges = runtime.store.review_charges(phone)
    codes = {product.name: product.code for product in runtime.store.catalog.products}
    claim = read_claim([text], local_day(runtime.clock(), TZ), services, codes)
    agreeing = [c for c in charges if not claim.described() or matches(claim, c, TZ)]
    expected = [
        c.charge_id
        for c in charges
        if c.after_cancellation or (c in agreeing and c.within_refund_window)
    ]
    assert (slot(events, OFFER_SLOT) or []) == expected
    said = responses(dispatcher)
    assert ("utter_refund_offer" in said) == bool(expected)
    assert ("utter_charge_claim_not_found" in said) == (claim.described() and not agreeing)
    assert "utter_refund_case_opened" not in said
