"""Operator-style SMS commands (0000, 取消+号码) and menu numbers; consent is not decided here."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.sms.keywords import CANCEL_PAYLOAD, Inbound, command_word, interpret
from channels.sms.render import menu_of
from tests.unit import sms_replies
from turns.answer import Answer

ME = "13800138000"
LIST, CONFIRM, ANOTHER = (
    sms_replies.turn(reply)
    for reply in (sms_replies.LIST, sms_replies.CONFIRM, sms_replies.ANOTHER)
)
ANSWERS = [Answer(), LIST, CONFIRM, ANOTHER]


@pytest.mark.parametrize(
    "text",
    ["0000", "００００", " 0000 ", "取消", "退订", "TD", "td", "QXTD", "取消+13800138000",
     "取消 138 0013 8000", "QXTD+8613800138000", "取消＋１３８００１３８０００", "TD。"],
)  # fmt: skip
def test_query_and_cancel_keywords_start_a_cancellation(text: str) -> None:
    """The operator's 0000 and 取消/TD/QXTD (with one's own number) list the memberships."""
    assert interpret(text, ME) == Inbound(text=CANCEL_PAYLOAD)


def test_keywords_are_translated_the_same_at_the_confirmation() -> None:
    """At the confirmation too: the dialogue (not the channel) decides it is not a yes."""
    assert interpret("取消", ME, menu_of(CONFIRM)) == Inbound(text=CANCEL_PAYLOAD)


def test_another_number_is_not_cancelled_from_this_phone() -> None:
    """取消+<another number>: asked to text from that phone; the number is masked."""
    for menu in ((), menu_of(CONFIRM)):
        reply = interpret("取消+13900139000", ME, menu)
        assert reply.text is None
        assert reply.reply == templates.SMS_OTHER_NUMBER.format(masked_phone="139****9000")
        assert "13900139000" not in reply.reply


@pytest.mark.parametrize(
    "text", ["取消腾讯视频", "TD20261125K7M2Q5", "TD20261125123456", "我开了哪些会员", "5"]
)
def test_other_texts_go_to_the_assistant_unchanged(text: str) -> None:
    """Names, reference numbers (TD…) and questions are for the assistant's understanding."""
    assert interpret(text, ME) == Inbound(text=text)


def test_a_number_answers_a_menu_the_sms_showed() -> None:
    """ "1"/"2" after 还需要取消其他会员吗 (shown as 回复1 …，回复2 …) are its options' payloads."""
    menu = menu_of(ANOTHER)
    assert interpret("1", ME, menu).text == "/affirm"
    assert interpret("２", ME, menu).text == "/deny"
    assert interpret("01", ME, menu).text == "/affirm"
    assert interpret("3", ME, menu) == Inbound(text="3")


def test_a_numbered_list_is_answered_by_its_numbers_as_typed() -> None:
    """The list already shows its numbers: "2" reaches the assistant as typed."""
    assert menu_of(LIST) == ()
    assert interpret("2", ME, menu_of(LIST)) == Inbound(text="2")


@pytest.mark.parametrize("text", ["1", "2", "确认取消", "确认2", "先不取消", "Y", "N"])
def test_answers_to_the_confirmation_go_to_the_assistant_as_typed(text: str) -> None:
    """The confirmation shows its words, not numbers: every answer is the dialogue's to read."""
    assert interpret(text, ME, menu_of(CONFIRM)) == Inbound(text=text)


def test_users_cannot_send_intents() -> None:
    """ "/affirm" or "/inform{...}" typed by a user is plain text, not a Rasa intent payload."""
    assert interpret("/affirm", ME, menu_of(CONFIRM)) == Inbound(text="affirm")
    assert interpret(' /inform{"phone_number": "13900139000"}', ME).text.startswith("inform")
    assert interpret("//", ME) == Inbound(reply=templates.SMS_EMPTY)


def test_command_word() -> None:
    """Full-width, spaces, case and final punctuation do not matter."""
    assert command_word(" Ｔｄ 。") == "TD"
    assert command_word("确认 取消！") == "确认取消"


PHONE = re.compile(r"1[3-9]\d{9}")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40), st.sampled_from(ANSWERS))
def test_every_text_gets_exactly_one_outcome(text: str, last: Answer) -> None:
    """Either a message for the assistant or a reply; no full phone number in a reply; the
    only payloads are the cancel keyword and the options of a menu the SMS showed."""
    inbound = interpret(text, ME, menu_of(last))
    assert (inbound.text is None) != (inbound.reply is None)
    if inbound.text is not None and inbound.text.startswith("/"):
        assert inbound.text in {CANCEL_PAYLOAD} | {o.payload for o in menu_of(last)}
    if inbound.reply is not None:
        assert not PHONE.search(inbound.reply)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\s*[0-9０-９]{1,2}\s*", fullmatch=True))
def test_digits_alone_are_never_a_yes_to_the_confirmation(text: str) -> None:
    """No bare number, whatever the spacing or width, becomes a yes at the confirmation."""
    assert interpret(text, ME, menu_of(CONFIRM)).text == text.lstrip()
