"""The menu an SMS answers, read back from the conversation's events."""

from __future__ import annotations

from typing import Any, Dict, Optional

from channels.sms.conversation import last_offer, turns
from channels.sms.render import Option


def user(text: str) -> Dict[str, Any]:
    return {"event": "user", "text": text}


def bot(text: str, buttons: Optional[list] = None, action: str = "", at: float = 100.0) -> Dict:
    return {
        "event": "bot",
        "text": text,
        "data": {"buttons": buttons},
        "metadata": {"utter_action": action},
        "timestamp": at,
    }


LIST_BUTTONS = [
    {"title": "1. 腾讯视频VIP", "payload": "1"},
    {"title": "2. QQ音乐绿钻", "payload": "2"},
]
CONFIRM_BUTTONS = [
    {"title": "确认取消", "payload": "/affirm"},
    {"title": "先不取消", "payload": "/deny"},
]
LIST = bot("1. 腾讯视频VIP\n2. QQ音乐绿钻\n要取消哪一个？", LIST_BUTTONS, "utter_subscription_list")
CONFIRM = bot("确认要取消QQ音乐绿钻的自动续费吗？", CONFIRM_BUTTONS, "utter_ask_cancel_confirmed")


def test_the_last_list_is_the_menu() -> None:
    """After 0000 the list's numbers are on offer."""
    events = [user("/cancel_subscription"), LIST]
    offer = last_offer(events, now=100)
    assert [o.title for o in offer.options] == ["腾讯视频VIP", "QQ音乐绿钻"]
    assert not offer.confirming


def test_a_confirmation_knows_the_item_picked() -> None:
    """ "2" answered the list, so the confirmation is about item 2 — also after a digression."""
    events = [user("/cancel_subscription"), LIST, user("2"), bot("状态"), CONFIRM]
    assert last_offer(events, now=100).picked == Option(2, "2", "QQ音乐绿钻")
    events += [user("钱会退吗"), bot("不退"), CONFIRM]
    offer = last_offer(events, now=100)
    assert offer.confirming and offer.picked == Option(2, "2", "QQ音乐绿钻")


def test_a_named_membership_has_no_pick() -> None:
    """取消绿钻 → confirmation: no list number to check against."""
    events = [user("取消绿钻"), CONFIRM]
    offer = last_offer(events, now=100)
    assert offer.confirming and offer.picked is None


def test_nothing_on_offer() -> None:
    """No events, a reply without buttons, a restart, or a stale menu: no offer."""
    assert last_offer([]).options == ()
    assert last_offer([user("0000"), LIST, user("2"), bot("好的")], now=100).options == ()
    assert last_offer([user("0000"), LIST, {"event": "restart"}], now=100).options == ()
    assert last_offer([user("0000"), LIST], now=100 + 7200).options == ()


def test_turns_group_replies_by_user_message() -> None:
    """Bot messages belong to the user message before them."""
    grouped = turns([bot("欢迎"), user("a"), bot("b"), bot("c")])
    assert [(t.user_text, len(t.replies)) for t in grouped] == [(None, 1), ("a", 2)]
