"""One options module for SMS menus, IVR keys and spoken choices."""

from __future__ import annotations

from channels.options import KeyedOption, keyed, option_for, options_of, plain_title
from turns.answer import AFFIRM, DENY, Answer, Option, answer_of, describe


def test_yes_and_no_are_one_and_two_wherever_they_are_listed() -> None:
    """affirm → 1, deny → 2, even when the buttons list no first."""
    options = keyed([Option(DENY, "先不取消"), Option(AFFIRM, "确认取消")])
    assert options == (KeyedOption("2", DENY, "先不取消"), KeyedOption("1", AFFIRM, "确认取消"))


def test_a_list_keeps_its_order_numbers_and_titles_lose_them() -> None:
    """ "1. QQ音乐绿钻" is key 1 titled QQ音乐绿钻; other numbering styles too."""
    options = keyed([Option("/a", "1. QQ音乐绿钻"), Option("/b", "2、腾讯视频VIP"), Option("/c")])
    assert [(o.key, o.title) for o in options] == [
        ("1", "QQ音乐绿钻"),
        ("2", "腾讯视频VIP"),
        ("3", ""),
    ]
    assert [o.number for o in options] == [1, 2, 3]
    assert plain_title("10．咪咕视频") == "咪咕视频"
    assert plain_title("5G套餐") == "5G套餐", "a number that is part of the name stays"


def test_options_of_an_answer() -> None:
    """A yes/no question without buttons still offers 1 and 2; a statement offers nothing."""
    confirm = answer_of([{"text": "确认吗？", "next": describe("utter_ask_cancel_confirmed")}])
    assert [(o.key, o.payload) for o in options_of(confirm)] == [("1", AFFIRM), ("2", DENY)]
    assert options_of(Answer(texts=("好的。",))) == ()


def test_lookup_by_key() -> None:
    """The option a key picks; spaces and leading zeros ignored; None for anything else."""
    options = keyed([Option(f"/p{i}", f"{i}. 会员{i}") for i in range(1, 12)])
    assert option_for(options, "2").payload == "/p2"
    assert option_for(options, " 02 ").payload == "/p2"
    assert option_for(options, "11").payload == "/p11"
    assert option_for(options, "12") is None
    assert option_for(options, "0") is None
    assert option_for(options, "") is None
    assert option_for(options, "x") is None
