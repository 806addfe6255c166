"""Getting help: masked handoff tickets, fallbacks and stray input (actions/handoff.py)."""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from sqlalchemy import select

from actions.handoff import ActionHandleFallback, ActionHandleInform, ActionHandoff
from actions.handoff_tickets import mask_text
from core.references import is_valid_reference
from core.sms.outbox import read_outbox
from core.store.models import HandoffTicket
from tests.conftest import entity, make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import run_action as _run
from tests.unit.action_helpers import verified_slots

ZHANG = "13800138000"


def _user(text: str) -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"text": text}, "input_channel": "rest"}


def _tickets(runtime) -> List[Dict[str, Any]]:
    with runtime.store.session_factory.begin() as session:
        rows = session.execute(select(HandoffTicket)).scalars().all()
        return [
            {
                "reference": t.reference,
                "conversation_id": t.conversation_id,
                "channel": t.channel,
                "phone_masked": t.phone_masked,
                "summary": t.summary,
                "status": t.status,
            }
            for t in rows
        ]


def _no_personal_data(summary: str) -> None:
    """Neither the phone number nor a 6-digit code, in any spacing, is in `summary`."""
    compact = re.sub(r"[\s\-]", "", summary)
    assert ZHANG not in compact
    assert re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", compact) is None
    assert "482913" not in compact


# --- mask_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的号码13800138000", "我的号码138****8000"),
        ("验证码482913", "验证码******"),
        ("13800138000 482913", "138****8000 ******"),
        ("凭证号TD20261124K7M2Q5", "凭证号TD20261124K7M2Q5"),  # 8-digit date: not a code
        ("扣了25块", "扣了25块"),
        ("1234567", "1234567"),
    ],
)
def test_mask_text_table(text: str, expected: str) -> None:
    """mask_text masks phone numbers and 6-digit codes and leaves other numbers alone."""
    assert mask_text(text) == expected


# --- action_handoff ------------------------------------------------------------------------


def test_handoff_opens_a_ticket_with_a_masked_summary(runtime, outbox_path) -> None:
    """A ticket RG… is stored whose summary has no phone number and no code the user typed."""
    tracker = make_tracker(
        slots=verified_slots(
            runtime,
            sender_id="conv-42",
            service="腾讯视频VIP",
            requested_slot="cancel_confirmed",
        ),
        intent="request_human",
        text="转人工",
        events=[_user("我要取消腾讯视频"), _user(f"我的号码是{ZHANG}"), _user("验证码482913")],
        active_loop="cancel_form",
        sender_id="conv-42",
    )
    events, dispatcher = _run(ActionHandoff(), tracker)

    assert _responses(dispatcher) == ["utter_handoff"]
    reference = dispatcher.messages[0]["reference"]
    assert reference.startswith("RG20261124")
    assert is_valid_reference(reference, prefix="RG")
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("fallback_count", 0.0),
        SlotSet("next_step", "listen"),
    ]

    (ticket,) = _tickets(runtime)
    assert ticket["reference"] == reference
    assert (ticket["conversation_id"], ticket["channel"], ticket["status"]) == (
        "conv-42",
        "rest",
        "open",
    )
    assert ticket["phone_masked"] == "138****8000"
    summary = ticket["summary"]
    _no_personal_data(summary)
    assert "已验证 138****8000" in summary
    assert "cancel_form" in summary
    assert "腾讯视频VIP" in summary
    assert "验证码******" in summary
    assert "转人工" in summary

    (sms,) = read_outbox(outbox_path)
    assert sms["to"] == ZHANG and reference in sms["text"]


def test_handoff_of_an_unverified_user(runtime, outbox_path) -> None:
    """Without identity the ticket has no phone, says 未验证, and no SMS is sent."""
    tracker = make_tracker(intent="request_human", text="我要找客服")
    events, dispatcher = _run(ActionHandoff(), tracker)
    assert _responses(dispatcher) == ["utter_handoff"]
    assert ActiveLoop(None) in events
    (ticket,) = _tickets(runtime)
    assert ticket["phone_masked"] is None
    assert "未验证" in ticket["summary"]
    assert read_outbox(outbox_path) == []


def test_handoff_summary_keeps_the_last_six_messages(runtime) -> None:
    """Only the six most recent user messages go into the summary."""
    earlier = [_user(f"第{i}句") for i in range(1, 9)]
    _run(ActionHandoff(), make_tracker(text="转人工", events=earlier))
    summary = _tickets(runtime)[0]["summary"]
    assert "第3句" not in summary
    assert "第4句 / 第5句 / 第6句 / 第7句 / 第8句 / 转人工" in summary


@pytest.mark.parametrize(
    "typed",
    [
        "我的号码是138 0013 8000",
        "号码138-0013-8000",
        "+8613800138000",
        "验证码 482 913",
    ],
)
def test_handoff_summary_masks_phones_and_codes_in_any_form(runtime, typed: str) -> None:
    """A phone or code typed with spaces, dashes or +86 is masked in the ticket summary too."""
    tracker = make_tracker(intent="request_human", text="转人工", events=[_user(typed)])
    _run(ActionHandoff(), tracker)
    _no_personal_data(_tickets(runtime)[0]["summary"])


# --- action_handle_fallback ----------------------------------------------------------------


def test_first_fallback_asks_to_rephrase(runtime) -> None:
    """The first misunderstanding gets utter_rephrase and counts one."""
    events, dispatcher = _run(ActionHandleFallback(), make_tracker(intent="nlu_fallback"))
    assert _responses(dispatcher) == ["utter_rephrase"]
    assert events == [SlotSet("fallback_count", 1.0), SlotSet("next_step", "listen")]


def test_second_fallback_offers_a_human(runtime) -> None:
    """The second misunderstanding in a row offers a human and resets the count."""
    events, dispatcher = _run(
        ActionHandleFallback(),
        make_tracker(
            slots={"fallback_count": 1.0},
            intent="nlu_fallback",
            events=[
                _user("啊啊啊"),
                {"event": "action", "name": "action_handle_fallback"},
                {"event": "action", "name": "action_listen"},
            ],
        ),
    )
    assert _responses(dispatcher) == ["utter_offer_human"]
    assert events == [SlotSet("fallback_count", 0.0), SlotSet("next_step", "offer_human")]


def test_fallback_after_understood_turns_asks_to_rephrase_again(runtime) -> None:
    """A misunderstanding after understood turns is a first one again."""
    history = [
        _user("啊啊啊"),
        {"event": "action", "name": "action_handle_fallback"},
        {"event": "slot", "name": "fallback_count", "value": 1.0},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_rephrase"}},
        {"event": "action", "name": "action_listen"},
        _user("有哪些取消方式"),
        {"event": "action", "name": "action_cancel_methods"},
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_cancel_methods"}},
        {"event": "action", "name": "action_listen"},
    ]
    tracker = make_tracker(
        slots={"fallback_count": 1.0}, intent="nlu_fallback", text="呃呃", events=history
    )
    _, dispatcher = _run(ActionHandleFallback(), tracker)
    assert _responses(dispatcher) == ["utter_rephrase"]


# --- action_handle_inform ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "active_loop", "expected"),
    [
        ("phone_number", "cancel_form", "utter_invalid_phone"),
        ("verification_code", "identity_form", "utter_invalid_code_format"),
        ("subscription_id", "cancel_form", "utter_choice_not_understood"),
        ("cancel_confirmed", "cancel_form", None),  # the form's own question says it all
        ("cancel_reason", "reason_form", None),
        (None, None, "utter_how_can_help"),
        ("cancel_confirmed", None, "utter_how_can_help"),  # a stale slot without a form
    ],
)
def test_handle_inform_says_what_is_expected(runtime, requested, active_loop, expected) -> None:
    """Inside a form only a statement of what was wrong (the form asks again right after);
    outside one, what the assistant can do."""
    tracker = make_tracker(
        slots={"requested_slot": requested}, intent="inform", text="嗯", active_loop=active_loop
    )
    events, dispatcher = _run(ActionHandleInform(), tracker)
    assert events == []
    assert _responses(dispatcher) == ([expected] if expected else [])


def test_fallback_inside_a_form_leaves_the_question_to_the_form(runtime) -> None:
    """Not understood inside a form: no "please rephrase" beside the form's question."""
    tracker = make_tracker(
        slots={"requested_slot": "phone_number"}, intent="nlu_fallback", active_loop="cancel_form"
    )
    events, dispatcher = _run(ActionHandleFallback(), tracker)
    assert _responses(dispatcher) == []
    assert events == [SlotSet("next_step", "listen")]


def test_handle_inform_answers_a_reference(runtime) -> None:
    """A reference number given out of the blue is looked up."""
    (item,) = runtime.store.cancellations(ZHANG)
    tracker = make_tracker(
        slots={"requested_slot": "subscription_id"},
        intent="inform",
        text=item.reference,
        entities=[entity("reference_number", item.reference)],
        active_loop="cancel_form",
    )
    _, dispatcher = _run(ActionHandleInform(), tracker)
    assert _responses(dispatcher) == ["utter_cancellation_status_brief"]
    assert dispatcher.messages[0]["reference"] == item.reference
    assert "138****8000" not in str(dispatcher.messages)
