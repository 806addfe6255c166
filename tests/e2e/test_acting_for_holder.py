"""Acting for the holder (issue 13, items 3 and 5), over REST: one clear answer that says the
holder's phone gets the code and the holder must agree, and a holder who mentions family is
served as usual."""

from __future__ import annotations

import json
import urllib.request
from typing import List

import pytest

from core.identity.conversation import namespaced
from tests.e2e.bot import Bot
from turns.questions import NOT_UNDERSTOOD, QUESTIONS
from turns.record import bot_turns

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
REPORTED = "我是机主的老婆，帮我老公取消一下腾讯视频"
# What the explanation says, in any of its wordings.
HOLDERS_PHONE = "验证码会发到机主的手机上"
CONSENT = "机主本人同意"


def joined(texts) -> str:
    return "\n".join(texts)


def last_turn(bot: Bot, sender: str) -> List[str]:
    """The response names of the bot's latest turn, read from the conversation's tracker."""
    conversation = namespaced("rest", sender)
    url = bot.api_url(f"/conversations/{conversation}/tracker")
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read().decode("utf-8"))["events"]
    turns = bot_turns(events)
    return turns[-1] if turns else []


def assert_one_clear_answer(bot: Bot, sender: str, texts: List[str]) -> List[str]:
    """No not-understood message and exactly one question in the latest turn."""
    assert "没太理解" not in joined(texts), texts
    turn = last_turn(bot, sender)
    assert not NOT_UNDERSTOOD.intersection(turn), turn
    asked = [name for name in turn if name in QUESTIONS]
    assert len(asked) == 1, turn
    return turn


def test_the_reported_exchange_gets_one_clear_answer(fresh: Bot, sender: str) -> None:
    """我是机主的老婆，帮我老公取消一下腾讯视频 → how acting for him works, then his number."""
    texts = fresh.say(sender, REPORTED)
    text = joined(texts)
    turn = assert_one_clear_answer(fresh, sender, texts)
    assert turn[-1] == "utter_ask_phone_number_for_cancel", turn
    assert turn.index("utter_proxy_explained") < turn.index("utter_ask_phone_number_for_cancel")
    assert HOLDERS_PHONE in text and CONSENT in text, text
    assert "营业厅" in text and "机主的身份证" in text, text
    assert "腾讯视频VIP" in text and "手机号码" in text, text

    # The holder's number gets the code; once the holder passes it on, the cancellation goes on.
    sent = fresh.say(sender, ZHANG)
    assert "138****8000" in joined(sent)
    assert CONSENT not in joined(sent), "the explanation is said once"
    verified = joined(fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}"))
    assert "验证成功" in verified and "确认要取消腾讯视频VIP" in verified, verified


def test_spoken_and_traditional_forms(fresh: Bot, sender: str) -> None:
    """The same request without punctuation, in Traditional characters, gets the same answer."""
    texts = fresh.say(sender, "我是機主的老婆幫我老公取消一下騰訊視頻")
    assert_one_clear_answer(fresh, sender, texts)
    assert HOLDERS_PHONE in joined(texts) and "腾讯视频VIP" in joined(texts)


@pytest.mark.parametrize(
    "text",
    ["我是机主，家里人看的腾讯视频我不要了", "我想取消腾讯视频"],
)
def test_a_holder_who_mentions_family_is_served(fresh: Bot, sender: str, text: str) -> None:
    """A holder is neither refused nor told about acting for someone: the cancellation starts."""
    texts = fresh.say(sender, text)
    turn = assert_one_clear_answer(fresh, sender, texts)
    assert "utter_proxy_explained" not in turn
    assert CONSENT not in joined(texts)
    assert "好的，我来帮您取消腾讯视频VIP的自动续费" in joined(texts)


def test_a_holder_whose_wife_opened_it_is_served(fresh: Bot, sender: str) -> None:
    """我老婆用我的号开的会员，我是机主 → the usual question, no explanation."""
    texts = fresh.say(sender, "我老婆用我的号开的会员，我是机主")
    assert CONSENT not in joined(texts) and "没太理解" not in joined(texts)
    assert "手机号码" in joined(texts)


def test_may_i_cancel_for_my_mother(fresh: Bot, sender: str) -> None:
    """我能帮我妈取消会员吗 → yes, with the holder's consent, and the one next question."""
    texts = fresh.say(sender, "我能帮我妈取消会员吗")
    assert_one_clear_answer(fresh, sender, texts)
    text = joined(texts)
    assert "可以帮您母亲办理" in text and HOLDERS_PHONE in text, text


def test_not_the_holder_asking_how(fresh: Bot, sender: str) -> None:
    """我不是机主，能帮机主退订吗 → the ways open to someone the holder agrees to."""
    texts = fresh.say(sender, "我不是机主，能帮机主退订吗")
    text = joined(texts)
    assert CONSENT in text and HOLDERS_PHONE in text, text
    assert "机主的身份证" in text and "机主的手机发送" in text, text
    assert "没太理解" not in text
    assert "utter_cancel_methods" not in last_turn(fresh, sender)


def test_a_child_asking_for_parents(fresh: Bot, sender: str) -> None:
    """子女可以帮父母取消会员吗 (read as a consequences question) gets the answer it asks for."""
    text = joined(fresh.say(sender, "子女可以帮父母取消会员吗"))
    assert "可以帮您父母办理" in text and HOLDERS_PHONE in text, text
    assert "权益照常保留" not in text


@pytest.mark.parametrize(
    "text",
    ["我是机主的老婆", "机主是我妈", "不是机主本人可以办理吗", "我是机主老婆，想退订他的会员"],
)
def test_saying_who_one_is_gets_the_explanation(fresh: Bot, sender: str, text: str) -> None:
    """Just saying one is not the holder gets the explanation, not 请问您想办理什么."""
    said = joined(fresh.say(sender, text))
    assert CONSENT in said and "没太理解" not in said, said


def test_a_charge_on_a_parents_number(fresh: Bot, sender: str) -> None:
    """家里老人被扣了会员费，我帮他退订 → the explanation before the phone for the charge."""
    texts = fresh.say(sender, "家里老人被扣了会员费，我帮他退订")
    assert_one_clear_answer(fresh, sender, texts)
    assert HOLDERS_PHONE in joined(texts)
