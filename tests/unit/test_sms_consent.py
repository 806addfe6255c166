"""By SMS the confirmation needs its code word (actions/sms_consent.py, used by the cancel
form's confirmation): decided once, by the dialogue, keyed on the message's input channel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateCancelForm
from actions.sms_consent import Reading, code_word, picked_from_list, read_sms_confirmation
from tests.conftest import make_tracker

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8"))


def user(text: str) -> Dict[str, Any]:
    return {"event": "user", "text": text}


def bot(response: str, text: str = "…", buttons: Optional[list] = None) -> Dict[str, Any]:
    return {
        "event": "bot",
        "text": text,
        "data": {"buttons": buttons},
        "metadata": {"utter_action": response},
    }


LIST = bot(
    "utter_subscription_list",
    "1. 腾讯视频VIP\n2. QQ音乐绿钻\n请问要取消哪一个？",
    [{"title": "1. 腾讯视频VIP", "payload": "1"}, {"title": "2. QQ音乐绿钻", "payload": "2"}],
)
CONFIRM = bot("utter_ask_cancel_confirmed", "确认要取消QQ音乐绿钻的自动续费吗？")
AGAIN = bot("utter_ask_confirm_again", "为防止误操作，确认取消请回复“确认取消”。")
# 0000 → the list → "2" → status, consequences and the confirmation question.
PICKED_2 = [
    user("/cancel_subscription"),
    LIST,
    user("2"),
    bot("utter_subscription_status"),
    bot("utter_cancel_consequences"),
    CONFIRM,
]
# The membership was named, not picked from a list.
NAMED = [user("取消QQ音乐绿钻"), bot("utter_subscription_status"), CONFIRM]


def with_answer(events: List[Dict[str, Any]], text: str) -> List[Dict[str, Any]]:
    return events + [user(text)]


def test_the_pick_is_the_number_answered_to_the_list() -> None:
    """(number, title) of the list item; repeated confirmations still refer to it."""
    assert picked_from_list(with_answer(PICKED_2, "确认1")) == (2, "QQ音乐绿钻")
    again = PICKED_2 + [user("1"), AGAIN]
    assert picked_from_list(with_answer(again, "确认1")) == (2, "QQ音乐绿钻")
    assert picked_from_list(with_answer(NAMED, "确认1")) is None
    restarted = PICKED_2 + [{"event": "restart"}, user("你好"), CONFIRM]
    assert picked_from_list(with_answer(restarted, "确认2")) is None


@pytest.mark.parametrize(
    "text", ["确认取消", "确认", "确定", "确认2", "确认 2", "确认取消2", "YES", "y", "确认取消！"]
)
def test_the_code_word_confirms(text: str) -> None:
    """确认取消, 确认, or 确认<the number picked> confirm the cancellation."""
    assert read_sms_confirmation(text, "affirm", with_answer(PICKED_2, text)) == Reading(True)


@pytest.mark.parametrize("text", ["先不取消", "不", "不用了", "N", "保留", "算了"])
def test_refusals_say_no(text: str) -> None:
    """先不取消 and the like keep the membership."""
    assert read_sms_confirmation(text, "deny", with_answer(PICKED_2, text)) == Reading(False)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("1", "affirm"),
        ("2", "inform"),
        ("０１", "affirm"),
        ("/cancel_subscription", "cancel_subscription"),
    ],
)
def test_a_bare_number_or_a_cancel_keyword_never_confirms(text: str, intent: str) -> None:
    """A late "1" from the list, or 0000/取消 sent again, asks for the code word."""
    assert read_sms_confirmation(text, intent, with_answer(PICKED_2, text)) == Reading(None)


def test_the_wrong_number_in_the_code_word_is_questioned() -> None:
    """确认1 while item 2 is being cancelled: says which one it is and asks again."""
    events = with_answer(PICKED_2, "确认1")
    assert read_sms_confirmation("确认1", "affirm", events) == Reading(None, (2, "QQ音乐绿钻"))
    assert read_sms_confirmation("确认3", "affirm", with_answer(NAMED, "确认3")) == Reading(None)


@pytest.mark.parametrize("text", ["好的", "取消了钱会退吗", "取消吧", "嗯"])
def test_other_answers_are_read_as_on_every_channel(text: str) -> None:
    """Words that are no code word are the dialogue's usual reading."""
    assert read_sms_confirmation(text, "affirm", with_answer(PICKED_2, text)) is None


def test_code_word() -> None:
    """Full-width, spaces, case and final punctuation do not matter."""
    assert code_word(" ｙｅｓ 。") == "YES" and code_word("确认 取消！") == "确认取消"


def extract(text: str, intent: str, channel: str, events=PICKED_2) -> tuple:
    tracker = make_tracker(
        slots={"requested_slot": "cancel_confirmed"},
        intent=intent,
        text=text,
        events=events,
        channel=channel,
    )
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateCancelForm().extract_cancel_confirmed(dispatcher, tracker, DOMAIN))
    return result, [m.get("response") for m in dispatcher.messages], dispatcher.messages


def test_the_form_is_strict_by_sms_only() -> None:
    """By SMS "取消" (sent as the keyword) asks again; elsewhere it is a yes, as before."""
    keyword = ("/cancel_subscription", "cancel_subscription")
    assert extract(*keyword, "sms")[:2] == ({"cancel_confirmed": None}, [])
    assert extract(*keyword, "rest")[:2] == ({"cancel_confirmed": True}, [])
    assert extract("确认2", "affirm", "sms")[:2] == ({"cancel_confirmed": True}, [])
    assert extract("N", "nlu_fallback", "sms")[:2] == ({"cancel_confirmed": False}, [])
    assert extract("1", "affirm", "sms")[:2] == ({"cancel_confirmed": None}, [])


def test_the_wrong_number_is_said_before_asking_again() -> None:
    """确认1 for item 2: which item it is, from the domain's response; then the re-ask."""
    result, responses, messages = extract("确认1", "affirm", "sms")
    assert result == {"cancel_confirmed": None}
    assert responses == ["utter_confirm_number_mismatch"]
    assert messages[0]["number"] == 2 and messages[0]["service"] == "QQ音乐绿钻"


def test_sms_sentences_live_in_the_domain() -> None:
    """The re-ask has an SMS wording; the mismatch sentence is a response."""
    again = DOMAIN["responses"]["utter_ask_confirm_again"]
    sms = [v for v in again if v.get("channel") == "sms"]
    assert (
        sms
        and sms[0]["text"] == "为防止误操作，确认取消请回复“确认取消”，保留会员请回复“先不取消”。"
    )
    assert "{number}" in DOMAIN["responses"]["utter_confirm_number_mismatch"][0]["text"]
