"""A turn's messages collected with what comes next, and read as one answer."""

from __future__ import annotations

import asyncio

from rasa.core.actions.action import create_bot_utterance
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from channels.answers import AnswerCollector
from rasa_plugins.answer_nlg import AnswerGenerator
from turns.answer import CHOICE_OF, PHONE, YES_OR_NO, Option

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
responses:
  utter_ask_phone_number:
    - text: "请告诉我开通会员的手机号码（11位）。"
    - text: "请回复开通会员的手机号码。"
      channel: sms
  utter_subscription_list:
    - text: "您的号码下开通了以下会员：\\n\\n{items}"
  utter_ask_cancel_confirmed:
    - text: "确认要取消吗？"
      buttons:
        - {title: "确认取消", payload: "/affirm"}
        - {title: "先不取消", payload: "/deny"}
"""
)


def turn(collector: AnswerCollector, *said: tuple) -> AnswerCollector:
    """Runs responses through the project's generator and Rasa's own send path, as a turn."""
    nlg = AnswerGenerator(domain=DOMAIN)
    tracker = DialogueStateTracker("someone", [])

    async def run() -> None:
        for response, variables in said:
            message = await nlg.generate(response, tracker, collector.name(), **variables)
            event = create_bot_utterance(message)
            await collector.send_response("someone", event.message())

    asyncio.run(run())
    return collector


def test_the_collector_keeps_what_comes_next_and_reads_the_turn() -> None:
    """Rasa's kwargs carry `next`; the answer expects what the last question asks."""
    buttons = [
        {"title": "1. QQ音乐绿钻", "payload": "/a"},
        {"title": "2. 腾讯视频", "payload": "/b"},
    ]
    collector = turn(
        AnswerCollector("ivr"),
        ("utter_subscription_list", {"items": "1. QQ音乐绿钻\n\n2. 腾讯视频", "buttons": buttons}),
    )
    assert len(collector.messages) == 1, "a text with blank lines stays one message"
    answer = collector.answer()
    assert answer.expects == CHOICE_OF and answer.step == "which_membership"
    assert answer.options == (Option("/a", "1. QQ音乐绿钻"), Option("/b", "2. 腾讯视频"))
    assert answer.texts == ("您的号码下开通了以下会员：\n\n1. QQ音乐绿钻\n\n2. 腾讯视频",)

    confirm = turn(AnswerCollector("ivr"), ("utter_ask_cancel_confirmed", {})).answer()
    assert (confirm.expects, confirm.step) == (YES_OR_NO, "confirm_cancel")
    assert [o.payload for o in confirm.options] == ["/affirm", "/deny"]


def test_the_channel_name_picks_the_domains_channel_variant() -> None:
    """Named "sms", the collector gets the SMS wording; any other name the default one."""
    sms = turn(AnswerCollector("sms"), ("utter_ask_phone_number", {})).answer()
    assert sms.texts == ("请回复开通会员的手机号码。",) and sms.expects == PHONE
    ivr = turn(AnswerCollector("ivr"), ("utter_ask_phone_number", {})).answer()
    assert ivr.texts == ("请告诉我开通会员的手机号码（11位）。",)
    assert AnswerCollector("sms").name() == "sms"


def test_an_empty_turn_is_an_empty_answer() -> None:
    """Nothing said: the channel can tell the turn failed."""
    assert AnswerCollector("ivr").answer().empty
