"""The assistant's replies the SMS channel tests render and remember, and a turn's answer."""

from __future__ import annotations

from typing import Any, Dict

from turns.answer import Answer, answer_of, describe

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


def described(message: Dict[str, Any]) -> Dict[str, Any]:
    """The message as the dialogue sends it: its response name replaced by its `next`."""
    message = dict(message)
    response = message.pop("utter_action", None)
    if response:
        message["next"] = describe(response, message.get("buttons"))
    return message


def turn(*messages: Dict[str, Any]) -> Answer:
    """The answer of one turn made of these messages."""
    return answer_of([described(m) for m in messages])
