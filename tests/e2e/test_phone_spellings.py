"""A phone number written with dashes, full-width or spoken digits is understood and hidden.

Both servers run at debug level with a file-backed SQL tracker store and a file event broker.
Each spelling opens its own conversation: the code goes to 13800138000 (the NLU read it),
and afterwards no file either server wrote (logs, trackers, events, the store with its
handoff summaries and audit rows) holds the number in any spelling.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Iterator

import pytest

from tests.e2e.bot import Bot, find_reference
from tests.e2e.debug_servers import debug_servers, written

pytestmark = pytest.mark.e2e
# A mobile number anywhere, except inside a decimal fraction (a confidence 0.188546…) or a hex
# message id.
LOOSE_PHONE = re.compile(r"(?<![0-9a-fA-F.])1[3-9]\d{9}(?![0-9a-fA-F])")

ZHANG = "13800138000"
SPELLINGS = [
    "138\u20130013\u20138000",  # en dash
    "138\u20140013\u20148000",  # em dash
    "\uff11\uff13\uff18\uff0d\uff10\uff10\uff11\uff13\uff0d\uff18\uff10\uff10\uff10",
    "幺三八 零零幺三 八零零零",
]
# 13800138000 in any of those digit forms, with up to three separators between digits.
_FORMS = {"1": "1１一幺", "3": "3３三", "8": "8８八", "0": "0０零〇○"}
_SEP = r"[\s\-\u2013\u2014\uff0d\u3000]{0,3}"
ANY_SPELLING = re.compile(_SEP.join(f"[{_FORMS[d]}]" for d in ZHANG))


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Servers at debug level writing trackers, events and logs under one folder."""
    work = tmp_path_factory.mktemp("spellings")
    with debug_servers(
        work,
        # One code per spelling to the same number, one right after the other.
        RESEND_INTERVAL_SECONDS="0",
        RESEND_PER_HOUR="20",
    ) as bot:
        yield bot, work


def _codes_to(bot: Bot, phone: str) -> int:
    return sum(1 for sms in bot.outbox() if sms["to"] == phone)


def test_every_spelling_works_and_is_never_written_down(logged) -> None:
    """Dashes, full-width and spoken digits: a code goes to 13800138000 each time, the last
    conversation cancels and asks for an agent, and the number is nowhere afterwards."""
    bot, work = logged
    reference = None
    for turn, spelling in enumerate(SPELLINGS):
        sender = f"spell-{uuid.uuid4().hex[:8]}"
        sent = _codes_to(bot, ZHANG)
        assert "手机号" in "".join(bot.say(sender, "我要取消腾讯视频会员"))
        replies = "".join(bot.say(sender, spelling))
        assert _codes_to(bot, ZHANG) == sent + 1, (spelling, replies)
        assert "138****8000" in replies
        confirm = "".join(bot.say(sender, bot.code_for(ZHANG)))
        assert "确认要取消" in confirm, (spelling, confirm)
        if turn == len(SPELLINGS) - 1:
            reference = find_reference(bot.say(sender, "确认取消"))
            handoff = bot.say(sender, f"转人工，我的号码是{spelling}")
            assert any("人工" in text for text in handoff), handoff
        else:
            bot.say(sender, "先不取消了")
    assert reference and bot.store.cancellation(reference).channel == "rest"
    with sqlite3.connect(work / "store.db") as db:
        summaries = [row[0] for row in db.execute("SELECT summary FROM handoff_tickets")]
        audited = db.execute(
            "SELECT count(*) FROM audit_events WHERE phone_masked = '138****8000'"
        ).fetchone()[0]
    # The agent's summary quotes the user, number masked; every code and step was audited.
    assert len(summaries) == 1 and "138****8000" in summaries[0], summaries
    assert audited >= 2 * len(SPELLINGS)

    files = written(work)
    assert {"rasa.log", "actions.log", "tracker.db", "events.log", "store.db"} <= set(files)
    assert "DEBUG" in files["rasa.log"] and "DEBUG" in files["actions.log"]
    assert "138****8000" in files["tracker.db"] and "138****8000" in files["events.log"]
    for name, content in files.items():
        found = ANY_SPELLING.search(content)
        assert found is None, f"13800138000 as {found.group(0)!r} in {name}"
        assert not LOOSE_PHONE.search(content), f"a phone number in {name}"
