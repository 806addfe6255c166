"""Operator-style SMS commands: 0000, 取消+号码, menu numbers and the 确认 code word."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.sms.keywords import (
    AFFIRM_PAYLOAD,
    CANCEL_PAYLOAD,
    DENY_PAYLOAD,
    Inbound,
    command_word,
    interpret,
)
from channels.sms.render import Offer, Option

ME = "13800138000"
LIST = Offer(options=(Option(1, "1", "腾讯视频VIP"), Option(2, "2", "QQ音乐绿钻")))
PICKED = Option(2, "2", "QQ音乐绿钻")
CONFIRM = Offer(
    options=(Option(1, "/affirm", "确认取消"), Option(2, "/deny", "先不取消")),
    confirming=True,
    picked=PICKED,
)
ANOTHER = Offer(options=(Option(1, "/affirm", "还要取消"), Option(2, "/deny", "不用了")))


@pytest.mark.parametrize(
    "text",
    ["0000", "００００", " 0000 ", "取消", "退订", "TD", "td", "QXTD", "取消+13800138000",
     "取消 138 0013 8000", "QXTD+8613800138000", "取消＋１３８００１３８０００", "TD。"],
)  # fmt: skip
def test_query_and_cancel_keywords_start_a_cancellation(text: str) -> None:
    """The operator's 0000 and 取消/TD/QXTD (with one's own number) list the memberships."""
    assert interpret(text, ME) == Inbound(text=CANCEL_PAYLOAD)


def test_another_number_is_not_cancelled_from_this_phone() -> None:
    """取消+<another number>: asked to text from that phone; the number is masked."""
    answer = interpret("取消+13900139000", ME)
    assert answer.text is None
    assert answer.reply == templates.SMS_OTHER_NUMBER.format(masked_phone="139****9000")
    assert "13900139000" not in answer.reply


@pytest.mark.parametrize(
    "text", ["取消腾讯视频", "TD20261125K7M2Q5", "TD20261125123456", "我开了哪些会员", "5"]
)
def test_other_texts_go_to_the_assistant_unchanged(text: str) -> None:
    """Names, reference numbers (TD…) and questions are for the assistant's understanding."""
    assert interpret(text, ME) == Inbound(text=text)


def test_a_number_picks_from_the_list_offered() -> None:
    """ "2" after the list sends that option's payload and remembers the pick."""
    assert interpret("2", ME, LIST) == Inbound(text="2", picked=PICKED)
    assert interpret("２", ME, LIST).picked == PICKED
    assert interpret("3", ME, LIST) == Inbound(text="3")


def test_a_number_answers_a_yes_no_menu() -> None:
    """ "1"/"2" after 还需要取消其他会员吗 are its buttons' payloads."""
    assert interpret("1", ME, ANOTHER).text == AFFIRM_PAYLOAD
    assert interpret("2", ME, ANOTHER).text == DENY_PAYLOAD


@pytest.mark.parametrize(
    "text", ["确认取消", "确认", "确定", "确认2", "确认 2", "确认取消2", "YES"]
)
def test_the_code_word_confirms(text: str) -> None:
    """确认取消, 确认, or 确认<the number picked> confirm the cancellation."""
    assert interpret(text, ME, CONFIRM) == Inbound(text=AFFIRM_PAYLOAD)


@pytest.mark.parametrize("text", ["先不取消", "不", "不用了", "N", "保留"])
def test_refusals_say_no(text: str) -> None:
    """先不取消 and the like keep the membership."""
    assert interpret(text, ME, CONFIRM) == Inbound(text=DENY_PAYLOAD)


def test_a_bare_number_never_confirms() -> None:
    """A late "1" or "2" (from the list) asks for the code word instead of confirming."""
    for text in ("1", "2", "0000", "取消", "TD"):
        assert interpret(text, ME, CONFIRM) == Inbound(reply=templates.SMS_CONFIRM_CODE_WORD)


def test_the_wrong_number_in_the_code_word_is_questioned() -> None:
    """确认1 while item 2 is being cancelled: says which one it is and asks again."""
    answer = interpret("确认1", ME, CONFIRM)
    assert answer.text is None
    assert answer.reply == templates.SMS_CONFIRM_MISMATCH.format(number=2, title="QQ音乐绿钻")


def test_a_numbered_code_word_needs_a_pick() -> None:
    """确认3 when the membership was named, not picked: asks for 确认取消."""
    named = Offer(options=CONFIRM.options, confirming=True)
    assert interpret("确认3", ME, named) == Inbound(reply=templates.SMS_CONFIRM_CODE_WORD)


def test_questions_mid_confirmation_reach_the_assistant() -> None:
    """Anything else (a question) goes to the assistant, which answers and asks again."""
    assert interpret("取消了钱会退吗", ME, CONFIRM) == Inbound(text="取消了钱会退吗")


def test_users_cannot_send_intents() -> None:
    """ "/affirm" or "/inform{...}" typed by a user is plain text, not a Rasa intent payload."""
    assert interpret("/affirm", ME, CONFIRM) == Inbound(text="affirm")
    assert interpret(' /inform{"phone_number": "13900139000"}', ME).text.startswith("inform")
    assert interpret("//", ME) == Inbound(reply=templates.SMS_EMPTY)


def test_command_word() -> None:
    """Full-width, spaces, case and final punctuation do not matter."""
    assert command_word(" Ｔｄ 。") == "TD"
    assert command_word("确认 取消！") == "确认取消"


OFFERS = st.sampled_from([None, Offer(), LIST, CONFIRM, ANOTHER])
PHONE = re.compile(r"1[3-9]\d{9}")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40), OFFERS)
def test_every_text_gets_exactly_one_outcome(text: str, offer: Offer) -> None:
    """Either a message for the assistant or a reply; no full phone number in a reply."""
    answer = interpret(text, ME, offer)
    assert (answer.text is None) != (answer.reply is None)
    if answer.text is not None and answer.text.startswith("/"):
        assert answer.text in {"/cancel_subscription", "/affirm", "/deny"}
    if answer.reply is not None:
        assert not PHONE.search(answer.reply)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\s*[0-9０-９]{1,2}\s*", fullmatch=True))
def test_digits_alone_never_confirm(text: str) -> None:
    """No bare number, whatever the spacing or width, is a confirmation."""
    assert interpret(text, ME, CONFIRM).text != AFFIRM_PAYLOAD
