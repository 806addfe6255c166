"""A turn's answer rendered as SMS: segments, numbered menus for options, merging."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sms.render import count_segments, menu_of, plain_text, render, shown_menu
from tests.unit.sms_replies import ANOTHER, CONFIRM, LIST, turn
from turns.answer import Option


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("退" * 70, 1),
        ("退" * 71, 2),
        ("退" * 134, 2),
        ("退" * 135, 3),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # GSM extension characters cost two septets
        ("[" * 81, 2),
        ("😀" * 35, 1),  # outside the BMP: two UCS-2 units each
        ("😀" * 36, 2),
        ("退" * 66 + "😀" + "退" * 10, 2),  # the pair is not split across parts
    ],
)
def test_segments(text: str, segments: int) -> None:
    """70 UCS-2 units in one SMS, 67 per part when concatenated; GSM-7 160/153."""
    assert count_segments(text) == segments


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_segments_are_enough_for_the_text(text: str) -> None:
    """Never fewer segments than the units need, and one more char never costs less."""
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    n = count_segments(text)
    assert n >= math.ceil(units / 160)
    assert count_segments(text + "退") >= n
    assert (n == 0) == (text == "")


def test_a_numbered_list_is_sent_as_it_is() -> None:
    """The list already names and numbers every option: no extra menu, nothing to map."""
    rendered = render(turn(LIST))
    assert rendered.text == LIST["text"]
    assert rendered.menu == ()
    assert rendered.segments == 2


def test_options_become_reply_numbers() -> None:
    """还要取消/不用了 become "回复1 还要取消，回复2 不用了", and 1/2 pick them next time."""
    answer = turn(ANOTHER)
    rendered = render(answer)
    assert rendered.text == "还需要取消其他会员吗？\n回复1 还要取消，回复2 不用了。"
    assert [(o.key, o.payload) for o in rendered.menu] == [("1", "/affirm"), ("2", "/deny")]
    assert menu_of(answer) == rendered.menu


def test_the_confirmation_keeps_its_wording_and_offers_no_numbers() -> None:
    """The confirmation already says what to reply; a number must never stand for a yes."""
    rendered = render(turn(CONFIRM))
    assert rendered.text == CONFIRM["text"]
    assert rendered.menu == ()


def test_untitled_options_are_not_shown() -> None:
    """A yes/no question without buttons (its options have no titles) shows no menu."""
    assert shown_menu("还有什么可以帮您？", (Option("/affirm"), Option("/deny"))) == ()
    answer = turn({"text": "不客气。还有什么可以帮您？", "utter_action": "utter_you_are_welcome"})
    assert render(answer).text == "不客气。还有什么可以帮您？" and render(answer).menu == ()


def test_one_turn_is_one_sms_when_it_fits() -> None:
    """Status, consequences and the question go out as one SMS with its segment count."""
    status = {
        "text": "QQ音乐绿钻（连续包月，¥15/月，话费代扣）："
        "当前权益有效期至12月1日，下次扣费日期12月1日。"
    }
    rendered = render(turn(status, CONFIRM))
    assert len(rendered.messages) == 1
    assert rendered.text == status["text"] + "\n" + CONFIRM["text"]
    assert rendered.segments == count_segments(rendered.text) == 2


def test_a_long_turn_is_split_between_messages_only() -> None:
    """Over the segment limit: several SMS, each whole bot messages, none over the limit."""
    rendered = render(turn({"text": "退" * 150}, {"text": "订" * 150}, {"text": "好"}), 3)
    assert [m.text for m in rendered.messages] == ["退" * 150, "订" * 150 + "\n好"]
    assert all(m.segments <= 3 for m in rendered.messages)
    assert rendered.segments == sum(m.segments for m in rendered.messages)


def test_screen_only_bits_are_dropped() -> None:
    """Markdown, HTML, images and custom payloads do not reach an SMS; masked phones stay."""
    rendered = render(
        turn(
            {"text": "**注意**：[详情](https://x.cn)见<b>这里</b>，号码138****8000"},
            {"image": "https://x.cn/a.png"},
            {"custom": {"widget": 1}},
        )
    )
    assert rendered.text == "注意：详情见这里，号码138****8000"
    assert plain_text("a\n\n\nb") == "a\nb"


def test_a_reply_without_options_offers_nothing() -> None:
    """A turn keeps the menu one of its messages showed; a turn without options has none."""
    assert render(turn(ANOTHER, {"text": "感谢您的反馈，已记录。"})).menu != ()
    assert render(turn({"text": "感谢您的反馈，已记录。"})).menu == ()
