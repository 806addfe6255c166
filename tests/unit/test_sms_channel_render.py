"""Bot messages rendered as SMS: segments, numbered menus instead of buttons, merging."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sms.render import Option, count_segments, plain_text, render

LIST = {
    "text": "您的号码138****8000下开通了以下会员：\n1. 腾讯视频VIP（连续包月 ¥25/月）\n"
    "2. QQ音乐绿钻（连续包月 ¥15/月）\n请问要取消哪一个？可以回复序号或会员名称。",
    "buttons": [
        {"title": "1. 腾讯视频VIP", "payload": "1"},
        {"title": "2. QQ音乐绿钻", "payload": "2"},
    ],
    "utter_action": "utter_subscription_list",
}
CONFIRM = {
    "text": "确认要取消QQ音乐绿钻的自动续费吗？请回复“确认取消”或“先不取消”。",
    "buttons": [
        {"title": "确认取消", "payload": "/affirm"},
        {"title": "先不取消", "payload": "/deny"},
    ],
    "utter_action": "utter_ask_cancel_confirmed",
}
ANOTHER = {
    "text": "还需要取消其他会员吗？",
    "buttons": [
        {"title": "还要取消", "payload": "/affirm"},
        {"title": "不用了", "payload": "/deny"},
    ],
    "utter_action": "utter_ask_another",
}


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


def test_a_numbered_list_is_sent_as_it_is_and_remembered() -> None:
    """The list already names every option: no extra menu; numbers map to the payloads."""
    rendered = render([LIST])
    assert rendered.text == LIST["text"]
    assert rendered.offer.options == (
        Option(1, "1", "腾讯视频VIP"),
        Option(2, "2", "QQ音乐绿钻"),
    )
    assert not rendered.offer.confirming
    assert rendered.segments == 2


def test_buttons_become_reply_numbers() -> None:
    """还要取消/不用了 buttons become "回复1 还要取消，回复2 不用了"."""
    rendered = render([ANOTHER])
    assert rendered.text == "还需要取消其他会员吗？\n回复1 还要取消，回复2 不用了。"
    assert [o.payload for o in rendered.offer.options] == ["/affirm", "/deny"]


def test_the_confirmation_is_flagged_and_keeps_its_wording() -> None:
    """The confirmation question already says what to reply, and asks for the code word."""
    rendered = render([CONFIRM])
    assert rendered.text == CONFIRM["text"]
    assert rendered.offer.confirming


def test_one_turn_is_one_sms_when_it_fits() -> None:
    """Status, consequences and the question go out as one SMS with its segment count."""
    status = {
        "text": "QQ音乐绿钻（连续包月，¥15/月，话费代扣）："
        "当前权益有效期至12月1日，下次扣费日期12月1日。"
    }
    rendered = render([status, CONFIRM])
    assert len(rendered.messages) == 1
    assert rendered.text == status["text"] + "\n" + CONFIRM["text"]
    assert rendered.segments == count_segments(rendered.text) == 2


def test_a_long_turn_is_split_between_messages_only() -> None:
    """Over the segment limit: several SMS, each whole bot messages, none over the limit."""
    long = [{"text": "退" * 150}, {"text": "订" * 150}, {"text": "好"}]
    rendered = render(long, max_segments=3)
    assert [m.text for m in rendered.messages] == ["退" * 150, "订" * 150 + "\n好"]
    assert all(m.segments <= 3 for m in rendered.messages)
    assert rendered.segments == sum(m.segments for m in rendered.messages)


def test_screen_only_bits_are_dropped() -> None:
    """Markdown, HTML, images and custom payloads do not reach an SMS; masked phones stay."""
    rendered = render(
        [
            {"text": "**注意**：[详情](https://x.cn)见<b>这里</b>，号码138****8000"},
            {"image": "https://x.cn/a.png"},
            {"custom": {"widget": 1}},
        ]
    )
    assert rendered.text == "注意：详情见这里，号码138****8000"
    assert plain_text("a\n\n\nb") == "a\nb"


def test_a_reply_without_buttons_offers_nothing() -> None:
    """The last offer is cleared by a reply without a menu."""
    assert render([{"text": "感谢您的反馈，已记录。"}]).offer.options == ()
