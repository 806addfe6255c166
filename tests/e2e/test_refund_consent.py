"""A refund request only with the user's yes, and a description that matches no charge said
so (issue 13, item 1), end to end over REST on the demo data."""

from __future__ import annotations

import re
from typing import List

import pytest

from tests.e2e.bot import Bot

pytestmark = pytest.mark.e2e

ZHANG, ZHAO = "13800138000", "13600136000"
REPORTED = "你好，我上个月莫名其妙被扣了30块钱，是什么情况"
REFUND_REFERENCE = re.compile(r"RF\d{8}[0-9A-HJKMNP-TV-Z]{6}")

def joined(texts: List[str]) -> str:
    return "\n".join(texts)


def cases_of(bot: Bot, sender: str) -> List[str]:
    """References of the refund cases opened in one REST conversation."""
    state = bot.store.state_of([])
    return [ref for ref, conv in state.refund_cases.items() if conv.endswith(sender)]


def verified_review(bot: Bot, sender: str, said: str, phone: str) -> str:
    """The user reports a charge, gives the number and the code: the review's text."""
    asked = joined(bot.say(sender, said))
    assert "手机号" in asked, asked
    bot.say(sender, phone)
    return joined(bot.say(sender, bot.code_for(phone)))


def test_the_reported_exchange_files_nothing(fresh: Bot, sender: str) -> None:
    """上个月30块 for 13600136000 (charged ¥15 yesterday): no such charge is said first, the
    ¥15 one is listed, nothing is filed and no refund is offered for a charge not described."""
    text = verified_review(fresh, sender, REPORTED, ZHAO)
    assert "没有找到与您说的“上个月、¥30”相符的会员扣费" in text, text
    assert text.index("没有找到") < text.index("网易云音乐黑胶VIP ¥15")
    assert "已为您提交" not in text and not REFUND_REFERENCE.search(text), text
    assert "提交退款申请吗" not in text
    assert fresh.store.state_of([]).refund_cases == {}


def test_a_refund_is_offered_and_not_filed_before_the_answer(fresh: Bot, sender: str) -> None:
    """都取消了怎么还扣我钱 (13800138000): the 咪咕 charge after the cancellation is offered;
    no case exists until the user answers."""
    text = verified_review(fresh, sender, "都取消了怎么还扣我钱", ZHANG)
    assert "咪咕视频钻石会员" in text and "提交退款申请吗" in text, text
    assert "已为您提交" not in text and not REFUND_REFERENCE.search(text), text
    assert "12315" not in text  # the complaint channels come with the outcome, not the question
    assert fresh.store.state_of([]).refund_cases == {}


def test_yes_to_the_offer_files_the_case(fresh: Bot, sender: str) -> None:
    """好的 after the offer: one case, its number said, with the complaint channels."""
    offer = verified_review(fresh, sender, "都取消了怎么还扣我钱", ZHANG)
    assert "提交退款申请吗" in offer, offer
    filed = joined(fresh.say(sender, "好的"))
    assert "已为您提交退款申请" in filed, filed
    match = REFUND_REFERENCE.search(filed)
    assert match and cases_of(fresh, sender) == [match.group(0)]
    assert "12315" in filed


def test_yes_to_a_described_charge_files_it(fresh: Bot, sender: str) -> None:
    """昨天被扣了15块 (13600136000): the ¥15 line is pointed out and offered; 可以 files it."""
    offer = verified_review(fresh, sender, "昨天莫名其妙被扣了15块钱，怎么回事", ZHAO)
    assert "相符的是第1条" in offer and "提交退款申请吗" in offer, offer
    assert cases_of(fresh, sender) == []
    filed = joined(fresh.say(sender, "可以"))
    match = REFUND_REFERENCE.search(filed)
    assert match and cases_of(fresh, sender) == [match.group(0)], filed


@pytest.mark.parametrize("answer", ["不用了", "算了"])
def test_no_to_the_offer_files_nothing(fresh: Bot, sender: str, answer: str) -> None:
    """A no after the offer: said so, nothing filed."""
    offer = verified_review(fresh, sender, "都取消了怎么还扣我钱", ZHANG)
    assert "提交退款申请吗" in offer, offer
    declined = joined(fresh.say(sender, answer))
    assert "不提交退款申请" in declined, declined
    assert fresh.store.state_of([]).refund_cases == {}


def test_asking_for_the_refund_in_words_files_it(fresh: Bot, sender: str) -> None:
    """帮我申请退款吧 after the offer files the case rather than asking the same again."""
    offer = verified_review(fresh, sender, "都取消了怎么还扣我钱", ZHANG)
    assert "提交退款申请吗" in offer, offer
    filed = joined(fresh.say(sender, "帮我申请退款吧"))
    match = REFUND_REFERENCE.search(filed)
    assert match and cases_of(fresh, sender) == [match.group(0)], filed
