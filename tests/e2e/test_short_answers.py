"""Short answers read against the question just asked, and one clear answer per turn
(issue 13, items 3 and 4), over REST and the smart speaker."""

from __future__ import annotations

import pytest

from tests.e2e.bot import Bot, find_reference
from tests.e2e.test_voice import Speaker, spoken, text_of

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"


def joined(texts) -> str:
    return "\n".join(texts)


def tickets_of(bot: Bot, sender: str) -> list:
    """References of the handoff tickets opened in one REST conversation."""
    state = bot.store.state_of([])
    return [ref for ref, conv in state.tickets.items() if conv.endswith(sender)]


def test_no_more_after_cancel_another_closes(fresh: Bot, sender: str) -> None:
    """助手：还需要取消其他会员吗？ 用户：没有了 → a close, not the cancellation records."""
    fresh.say(sender, "帮我取消腾讯视频的自动续费")
    fresh.say(sender, ZHANG)
    fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}")
    done = fresh.say(sender, "确认取消")
    assert find_reference(done)
    asked = fresh.say(sender, "跳过")
    assert "还需要取消其他会员吗" in joined(asked)
    before = fresh.store.state_of([ZHANG])
    closed = fresh.say(sender, "没有了")
    text = joined(closed)
    assert "退订记录" not in text and "TD" not in text, text
    assert "随时找我" in text, text
    assert fresh.store.state_of([ZHANG]) == before


@pytest.mark.parametrize("answer", ["不用了", "算了", "不要了", "没有了"])
def test_no_to_a_human_offered_opens_no_ticket(bot: Bot, sender: str, answer: str) -> None:
    """After 需要为您转人工客服吗？ a no declines; no ticket is opened."""
    bot.say(sender, "/nlu_fallback")
    offered = bot.say(sender, "/nlu_fallback")
    assert "转人工" in joined(offered)
    declined = bot.say(sender, answer)
    assert "直接告诉我要办理的事情" in joined(declined)
    assert tickets_of(bot, sender) == []


@pytest.mark.parametrize("answer", ["好的", "行", "可以"])
def test_yes_to_a_human_offered_opens_a_ticket(bot: Bot, sender: str, answer: str) -> None:
    """After 需要为您转人工客服吗？ a yes is a choice: the ticket is opened."""
    bot.say(sender, "/nlu_fallback")
    bot.say(sender, "/nlu_fallback")
    accepted = bot.say(sender, answer)
    assert "转接人工客服" in joined(accepted)
    assert len(tickets_of(bot, sender)) == 1


def test_no_after_anything_else_says_goodbye(bot: Bot, sender: str) -> None:
    """谢谢 → 还有其他需要吗？ → 没有了 → goodbye."""
    assert "还有其他需要吗" in joined(bot.say(sender, "谢谢"))
    assert "再见" in joined(bot.say(sender, "没有了"))


def test_yes_after_cancel_another_asks_which(fresh: Bot, sender: str) -> None:
    """还需要取消其他会员吗？ 好的 → the next cancellation starts (the holder is verified)."""
    fresh.say(sender, "帮我取消腾讯视频的自动续费")
    fresh.say(sender, ZHANG)
    fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}")
    fresh.say(sender, "确认取消")
    fresh.say(sender, "跳过")
    more = joined(fresh.say(sender, "好的"))
    assert "QQ音乐绿钻" in more, more


def test_a_membership_not_wanted_is_a_cancellation(bot: Bot, sender: str) -> None:
    """腾讯视频不要了 names what to cancel: the cancellation starts, nothing is closed."""
    texts = joined(bot.say(sender, "腾讯视频的会员不要了"))
    assert "腾讯视频VIP" in texts and "手机号" in texts, texts


def test_speaker_membership_not_wanted_keeps_the_session(fresh: Bot) -> None:
    """Over the speaker, 咪咕视频的会员不要了 starts a cancellation instead of a goodbye."""
    speaker = Speaker(fresh)
    speaker.say("", new=True)
    answer = speaker.say("咪咕视频的会员不要了")
    assert answer["should_end_session"] is False
    assert "咪咕视频钻石会员" in text_of(answer) and "手机号" in text_of(answer)
    sent = speaker.say("我的手机号是" + spoken(ZHANG, (3, 4, 4)))
    assert sent["should_end_session"] is False


def test_not_understood_inside_a_flow_is_one_clear_answer(bot: Bot, sender: str) -> None:
    """Nonsense while the phone number is asked gets one re-ask, no "没太理解" beside it."""
    bot.say(sender, "帮我取消腾讯视频")
    replies = bot.say(sender, "/nlu_fallback")
    text = joined(replies)
    assert "没太理解" not in text
    assert len(replies) == 1 and "手机号码" in text, replies
    third = joined(bot.say(sender, "呜啦啦啦"))
    assert "转人工" in third and "手机号码" in third, third
