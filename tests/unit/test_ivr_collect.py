"""What the IVR collects next, and what a key press means, decided from the turn's answer."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from channels.ivr.collect import HUMAN, SKIP_REASON, Collect, dtmf_text, next_collect
from channels.options import KeyedOption
from turns.answer import AFFIRM, DENY, NEXT_KEY, Answer, answer_of, describe

YES_NO = [{"title": "确认取消", "payload": "/affirm"}, {"title": "先不取消", "payload": "/deny"}]
LIST = [{"title": "1. QQ音乐绿钻", "payload": "1"}, {"title": "2. 腾讯视频VIP", "payload": "2"}]


def said(
    text: str, response: str, buttons: Optional[List[Dict[str, Any]]] = None, **variables: Any
) -> Dict[str, Any]:
    """A bot message as the channel's collector receives it: text, buttons, what comes next."""
    message: Dict[str, Any] = {"text": text, NEXT_KEY: describe(response, buttons, variables)}
    if buttons:
        message["buttons"] = buttons
    return message


def answer(*messages: Dict[str, Any]) -> Answer:
    """One turn's messages read as its answer."""
    return answer_of(list(messages))


@pytest.mark.parametrize(
    ("response", "step", "digits", "terminator", "timeout"),
    [
        ("utter_ask_phone_number", "phone", 11, "#", 15),
        ("utter_ask_phone_again", "phone", 11, "#", 15),
        ("utter_ask_verification_code", "code", 6, "#", 15),
        ("utter_ask_cancel_confirmed", "confirm", 1, None, 8),
        ("utter_ask_cancel_reason", "reason", 1, "#", 10),
    ],
)
def test_the_question_decides_the_input(response, step, digits, terminator, timeout) -> None:
    """Phone: 11 digits ended by #; code: 6 digits; confirmation: one key; reason: # skips."""
    collect = next_collect(answer(said("…", response)), caller_spoke=True)
    assert (collect.step, collect.max_digits, collect.terminator) == (step, digits, terminator)
    assert collect.timeout_seconds == timeout
    assert collect.to_json()["input"] == ["speech", "dtmf"]


def test_confirmation_keys_are_one_and_two() -> None:
    """1 confirms, 2 goes back, whatever the buttons' own titles."""
    collect = next_collect(answer(said("确认吗？", "utter_ask_cancel_confirmed", YES_NO)), True)
    assert collect.to_json()["dtmf"]["keys"] == {"1": "确认取消", "2": "返回"}
    assert dtmf_text("1", collect) == AFFIRM and dtmf_text("2", collect) == DENY


def test_numbered_list_maps_keys_to_its_buttons() -> None:
    """The membership list: key n sends the n-th button's payload; titles lose their numbers."""
    listed = answer(said("您的号码下开通了以下会员…", "utter_subscription_list", LIST))
    collect = next_collect(listed, True)
    assert collect.step == "identify_membership" and collect.max_digits == 1
    assert collect.options == (
        KeyedOption("1", "1", "QQ音乐绿钻"),
        KeyedOption("2", "2", "腾讯视频VIP"),
    )
    assert dtmf_text("2", collect) == "2"
    assert dtmf_text("7", collect) is None


def test_a_list_of_ten_takes_two_digits() -> None:
    """More than nine memberships: up to two keys."""
    buttons = [{"title": f"{i}. 会员{i}", "payload": str(i)} for i in range(1, 11)]
    collect = next_collect(answer(said("…", "utter_subscription_list", buttons)), True)
    assert collect.max_digits == 2 and dtmf_text("10", collect) == "10"


def test_yes_no_buttons_become_a_menu_named_for_the_question() -> None:
    """'还需要取消其他会员吗' → another; the offer of a human → offer_human; others → menu."""
    buttons = [{"title": "还要取消", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
    collect = next_collect(
        answer(said("还需要取消其他会员吗？", "utter_ask_another", buttons)), True
    )
    assert collect.step == "another"
    assert [(o.key, o.payload, o.title) for o in collect.options] == [
        ("1", AFFIRM, "还要取消"),
        ("2", DENY, "不用了"),
    ]
    human = [{"title": "转人工", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
    assert next_collect(answer(said("…", "utter_offer_human", human)), True).step == "offer_human"
    refund = [
        {"title": "提交退款申请", "payload": "/affirm"},
        {"title": "不用了", "payload": "/deny"},
    ]
    menu = next_collect(answer(said("…", "utter_refund_offer", refund)), True)
    assert menu.step == "menu" and dtmf_text("1", menu) == AFFIRM


def test_another_without_buttons_still_offers_its_keys() -> None:
    """Asked with no buttons, cancelling another is still 1 (还要取消) or 2 (不用了)."""
    collect = next_collect(answer(said("还需要取消其他会员吗？", "utter_ask_another")), True)
    assert collect.step == "another"
    assert collect.to_json()["dtmf"]["keys"] == {"1": "还要取消", "2": "不用了"}


def test_a_yes_no_question_without_buttons_is_listened_to() -> None:
    """Nothing labelled to announce: the caller answers by voice (0 still reaches a human)."""
    collect = next_collect(
        answer(said("不客气，还有什么可以帮您？", "utter_you_are_welcome")), True
    )
    assert (collect.step, collect.options) == ("listen", ())
    assert dtmf_text("1", collect) is None and dtmf_text("0", collect) == HUMAN


def test_only_the_latest_question_counts() -> None:
    """A question earlier in the turn is replaced by the last one."""
    turn = answer(
        said("需要为您转人工客服吗？", "utter_offer_human", YES_NO),
        said("请告诉我手机号。", "utter_ask_phone_for_check"),
    )
    collect = next_collect(turn, True)
    assert (collect.step, collect.options) == ("phone", ())


def test_greeting_listen_and_ended() -> None:
    """Before the caller spoke: greeting; after: listen; after a goodbye: ended."""
    greeted = answer(said("您好…", "utter_greet"))
    assert next_collect(None, caller_spoke=False).step == "greeting"
    assert next_collect(greeted, caller_spoke=False).step == "greeting"
    assert next_collect(answer(said("抱歉…", "utter_out_of_scope")), True).step == "listen"
    bye = answer(said("好的，感谢您的使用，再见！", "utter_goodbye"))
    assert next_collect(bye, True).step == "ended"


def test_reason_step_skips_on_any_key() -> None:
    """The optional reason question: # (or any key) skips it."""
    collect = next_collect(answer(said("方便说一下原因吗？", "utter_ask_cancel_reason")), True)
    assert collect.step == "reason"
    assert dtmf_text("#", collect) == SKIP_REASON


@pytest.mark.parametrize(
    ("digits", "response", "text"),
    [
        ("13800138000#", "utter_ask_phone_number", "13800138000"),
        ("138*0013#8000", "utter_ask_phone_number", "13800138000"),
        ("291591#", "utter_ask_verification_code", "291591"),
        ("0", "utter_ask_phone_number", HUMAN),
        ("0#", "utter_ask_verification_code", HUMAN),
        ("0", "utter_ask_cancel_confirmed", HUMAN),
        ("0", "utter_out_of_scope", HUMAN),
        ("#", "utter_ask_phone_number", None),
        ("5", "utter_ask_cancel_confirmed", None),
        ("1", "utter_out_of_scope", None),
    ],
)
def test_dtmf_meaning_depends_on_the_step(digits: str, response: str, text: Optional[str]) -> None:
    """Digits are the text during entry; 0 is a human everywhere; other keys only in menus."""
    collect = next_collect(answer(said("…", response)), caller_spoke=True)
    assert dtmf_text(digits, collect) == text


def test_collect_json_is_what_the_platform_reads() -> None:
    """The platform-facing object names the step, the inputs, digits, terminator and timeout."""
    assert Collect("code", max_digits=6, terminator="#", timeout_seconds=15).to_json() == {
        "step": "code",
        "input": ["speech", "dtmf"],
        "dtmf": {"max_digits": 6, "terminator": "#"},
        "timeout_seconds": 15,
    }


def test_code_sent_to_the_caller_collects_the_code_but_accepts_a_phone() -> None:
    """With caller-id pre-fill the code went to the caller's own number: key the code (or a
    different phone, hence up to 11 digits)."""
    sent = answer(said("验证码已发送到您来电的号码136****6000…", "utter_code_sent_to_caller"))
    collect = next_collect(sent, True)
    assert (collect.step, collect.max_digits, collect.terminator) == ("code", 11, "#")
    assert dtmf_text("291591#", collect) == "291591"
