"""The personal-information notice, and what the user hears at a code ceiling (issue 12)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateIdentityForm
from actions.identity import ActionAskPhoneNumber
from actions.subscriptions import ActionCheckSubscriptions
from core.identity import assertion
from core.sms.outbox import read_outbox
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses, run_action

ROOT = Path(__file__).resolve().parents[2]
ZHANG = "13800138000"
MASKED = "138****8000"


def _with_token(runtime: Any, conversation: str, source: str, channel: str, **kwargs: Any):
    tracker = make_tracker(sender_id=conversation, channel=channel, **kwargs)
    token = assertion.sign(
        runtime.settings.channel_assertion_key,
        conversation_id=conversation,
        phone=ZHANG,
        source=source,
        now=runtime.epoch(),
    )
    tracker.events[-1]["metadata"] = {assertion.METADATA_KEY: token}
    return tracker


def _response_text(name: str) -> str:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"][name][0]["text"]


# --- the notice -----------------------------------------------------------------------------


def test_the_notice_comes_before_the_first_phone_question_once(runtime) -> None:
    events, dispatcher = run_action(ActionAskPhoneNumber(), make_tracker())
    assert responses(dispatcher) == ["utter_privacy_notice", "utter_ask_phone_number"]
    notice = dispatcher.messages[0]
    settings = runtime.settings
    assert notice["operator"] == settings.operator_name == "中国移动"
    assert notice["contact"] == settings.privacy_contact == settings.operator_hotline
    assert notice["code_hours"] == settings.code_retention_hours
    assert notice["conversation_days"] == settings.conversation_retention_days
    assert events == [SlotSet("privacy_notice_given", True)]
    # Once given, never again in this conversation.
    again = make_tracker(slots={"privacy_notice_given": True})
    events, dispatcher = run_action(ActionAskPhoneNumber(), again)
    assert responses(dispatcher) == ["utter_ask_phone_number"] and events == []


def test_the_notice_says_who_why_what_how_long_and_which_rights() -> None:
    text = _response_text("utter_privacy_notice")
    for variable in ("{operator}", "{contact}", "{code_hours}", "{conversation_days}"):
        assert variable in text
    for words in ("手机号码", "对话", "核验", "退订", "查阅", "复制", "删除"):
        assert words in text
    assert "第" not in text  # no article is quoted


def test_an_sms_senders_first_answer_carries_the_notice(runtime) -> None:
    tracker = _with_token(runtime, "sms:zhang", "sms_sender", "sms", text="0000")
    events, dispatcher = run_action(ActionCheckSubscriptions(), tracker)
    said = responses(dispatcher)
    assert said[0] == "utter_privacy_notice"
    assert "utter_subscriptions_overview" in said
    assert SlotSet("privacy_notice_given", True) in events


def test_an_ivr_callers_code_comes_with_the_notice(runtime) -> None:
    tracker = _with_token(runtime, "ivr:call", "caller_id", "ivr", active_loop="cancel_form")
    _, dispatcher = run_action(ActionAskPhoneNumber(), tracker)
    assert responses(dispatcher) == ["utter_privacy_notice", "utter_code_sent_to_caller"]


def test_a_number_given_unasked_gets_the_notice_with_its_code(runtime) -> None:
    tracker = make_tracker(
        intent="inform",
        text=ZHANG,
        entities=[{"entity": "phone_number", "value": ZHANG}],
        active_loop="identity_form",
    )
    # The slot candidate Rasa's form appends before calling the validation action.
    tracker.events.append(
        {"event": "slot", "timestamp": None, "name": "phone_number", "value": ZHANG}
    )
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateIdentityForm().run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_privacy_notice", "utter_code_sent"]
    assert SlotSet("privacy_notice_given", True) in events


def test_no_notice_where_no_phone_is_collected(runtime) -> None:
    from actions.information import ActionCancelMethods

    _, dispatcher = run_action(ActionCancelMethods(), make_tracker(text="怎么取消"))
    assert "utter_privacy_notice" not in responses(dispatcher)


# --- ceilings -------------------------------------------------------------------------------


def _ask_code(runtime: Any, conversation: str, **kwargs: Any) -> CollectingDispatcher:
    tracker = make_tracker(
        intent="inform",
        text=ZHANG,
        sender_id=conversation,
        slots={"privacy_notice_given": True},
        **kwargs,
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateIdentityForm().validate_phone_number(ZHANG, dispatcher, tracker, {}))
    return dispatcher


def test_at_the_daily_ceiling_the_holders_own_channels_are_named(runtime, clock) -> None:
    settings = runtime.settings
    for i in range(settings.codes_per_day):
        assert responses(_ask_code(runtime, f"rest:stranger{i}")) == ["utter_code_sent"]
        clock.advance(minutes=13)
    dispatcher = _ask_code(runtime, "rest:holder")
    assert responses(dispatcher) == ["utter_code_daily_limit"]
    said = dispatcher.messages[0]
    assert said["masked_phone"] == MASKED
    assert (said["sms_keyword"], said["sms_number"], said["hotline"]) == (
        settings.cancel_sms_keyword,
        settings.cancel_sms_number,
        settings.operator_hotline,
    )
    text = _response_text("utter_code_daily_limit")
    assert all(v in text for v in ("{masked_phone}", "{sms_keyword}", "{sms_number}", "{hotline}"))


def test_at_the_numbers_ceiling_a_call_from_that_number_still_gets_its_code(
    runtime, clock, outbox_path
) -> None:
    for i in range(runtime.settings.codes_per_hour):
        _ask_code(runtime, f"rest:stranger{i}")
        clock.advance(seconds=1)
    assert responses(_ask_code(runtime, "rest:holder")) == ["utter_code_hourly_limit"]
    tracker = _with_token(runtime, "ivr:call", "caller_id", "ivr", active_loop="cancel_form")
    tracker.slots["privacy_notice_given"] = True
    _, dispatcher = run_action(ActionAskPhoneNumber(), tracker)
    assert responses(dispatcher) == ["utter_code_sent_to_caller"]
    assert [r["to"] for r in read_outbox(outbox_path)][-1] == ZHANG


def test_a_busy_source_is_told_to_wait(runtime, clock) -> None:
    for i in range(runtime.settings.conversation_codes_per_hour):
        phone = f"1370000{i:04d}"
        tracker = make_tracker(text=phone, sender_id="rest:busy")
        dispatcher = CollectingDispatcher()
        asyncio.run(ValidateIdentityForm().validate_phone_number(phone, dispatcher, tracker, {}))
        clock.advance(seconds=1)
    dispatcher = _ask_code(runtime, "rest:busy")
    assert responses(dispatcher) == ["utter_code_source_limit"]
