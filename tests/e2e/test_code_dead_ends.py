"""Codes per conversation, without dead ends (issue 13, item 2), over REST.

The reported exchange: a second conversation for 13600136000 within a minute of a code sent
in another got 刚刚已经给136****6000发过验证码了… and, in the same turn, the phone prompt; the
code in that SMS then got 请先告诉我开通会员的手机号码 — a loop. Here a second conversation (or a
reload: a new REST sender) gets its own code, keeps the number, 重新发送 works after the wait,
and no turn both says a code was sent recently and asks for the number.

Own servers with a short resend interval (RESEND_INTERVAL_SECONDS=8) and a small hourly
ceiling per number (CODES_PER_HOUR=3), so waits and ceilings happen within a test.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Iterator, List

import pytest

from tests.e2e.bot import Bot, served, work_env

pytestmark = pytest.mark.e2e

ZHAO = "13600136000"  # 赵六: the number of the reported exchange
ZHANG = "13800138000"
LI = "13900139000"
INTERVAL = 8
PER_HOUR = 3
PHONE_PROMPT = re.compile(r"手机号码（11位）|请先告诉我.*手机号码")
RECENT = "发过验证码"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Both servers on their own store, with a short resend interval and a small ceiling."""
    work = tmp_path_factory.mktemp("dead_ends")
    env = work_env(work, RESEND_INTERVAL_SECONDS=str(INTERVAL), CODES_PER_HOUR=str(PER_HOUR))
    with served(work, env) as bot:
        yield bot


@pytest.fixture
def bot(quick: Bot) -> Bot:
    """The quick servers on freshly seeded demo data and an empty outbox."""
    quick.reseed()
    return quick


class Conversation:
    """One REST conversation, keeping every turn's text."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.sender = f"dead-end-{uuid.uuid4().hex[:10]}"
        self.turns: List[str] = []

    def say(self, text: str) -> str:
        """Sends `text`; the bot's whole turn as one string."""
        reply = "\n".join(self.bot.say(self.sender, text))
        self.turns.append(reply)
        return reply


def _codes_to(bot: Bot, phone: str) -> int:
    return sum(1 for sms in bot.outbox() if sms["to"] == phone)


def _no_dead_end(conversation: Conversation) -> None:
    """After the number was given: never asked again, never a too-soon note beside a prompt."""
    for turn in conversation.turns:
        assert not (RECENT in turn and PHONE_PROMPT.search(turn)), conversation.turns
    for turn in conversation.turns[2:]:
        assert not PHONE_PROMPT.search(turn), conversation.turns


def test_a_second_conversation_within_the_interval_gets_its_own_code(bot: Bot) -> None:
    first, second = Conversation(bot), Conversation(bot)
    assert PHONE_PROMPT.search(first.say("我要取消网易云音乐会员"))
    assert "验证码已发送" in first.say(ZHAO)
    first_code = bot.code_for(ZHAO)

    assert PHONE_PROMPT.search(second.say("我要取消网易云音乐会员"))
    given = second.say(ZHAO)  # within the interval of the first conversation's code
    assert "136****6000" in given
    assert _codes_to(bot, ZHAO) == 2 and "验证码已发送" in given, given
    second_code = bot.code_for(ZHAO)
    assert second_code != first_code

    # The first conversation's code is not this one's: an answer about the code, no loop.
    other = second.say(first_code)
    assert "验证成功" not in other and "验证码" in other, other
    # Too early for another code: exactly how long, and the number is kept.
    early = second.say("重新发送")
    waited = re.search(r"(\d+)秒后", early)
    assert RECENT in early and waited and int(waited.group(1)) <= INTERVAL, early
    time.sleep(int(waited.group(1)) + 0.5)
    resent = second.say("重新发送")
    assert "已重新发送验证码到136****6000" in resent, resent
    assert _codes_to(bot, ZHAO) == 3
    assert "身份验证成功" in second.say(bot.code_for(ZHAO))
    _no_dead_end(second)
    _no_dead_end(first)


def test_a_reload_is_a_new_conversation_with_its_own_code(bot: Bot) -> None:
    """The page reloads (a new REST sender) after a code went out: the same flow works."""
    before = Conversation(bot)
    before.say("我要取消腾讯视频会员")
    assert "验证码已发送" in before.say(ZHANG)
    reloaded = Conversation(bot)
    assert PHONE_PROMPT.search(reloaded.say("我要取消腾讯视频会员"))
    given = reloaded.say(ZHANG)
    assert "验证码已发送" in given and _codes_to(bot, ZHANG) == 2, given
    confirm = reloaded.say(bot.code_for(ZHANG))
    assert "身份验证成功" in confirm and "确认要取消" in confirm, confirm
    _no_dead_end(reloaded)


def test_a_ceiling_keeps_the_number_and_says_when(bot: Bot) -> None:
    """The number's hourly ceiling is reached in other conversations: this one keeps the
    number, is told until when, and a code typed meanwhile gets that answer, not a loop."""
    for _ in range(PER_HOUR):
        elsewhere = Conversation(bot)
        elsewhere.say("查一下我的会员")
        elsewhere.say(LI)
    assert _codes_to(bot, LI) == PER_HOUR
    last = Conversation(bot)
    assert PHONE_PROMPT.search(last.say("查一下我的会员"))
    limited = last.say(LI)
    assert "上限" in limited and re.search(r"\d\d:\d\d之后", limited), limited
    assert _codes_to(bot, LI) == PER_HOUR
    meanwhile = last.say(bot.code_for(LI))
    assert "验证成功" not in meanwhile and "上限" in meanwhile, meanwhile
    _no_dead_end(last)
