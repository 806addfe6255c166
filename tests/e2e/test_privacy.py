"""Nothing Rasa or the action server writes holds a full phone number or a code.

Both servers run at debug level with a file-backed SQL tracker store and a file event broker;
after whole conversations every file they wrote and everything they logged is searched.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Iterator, List

import pytest

from tests.e2e.bot import find_reference
from tests.e2e.debug_servers import debug_servers, written

pytestmark = pytest.mark.e2e
# A mobile number anywhere, except inside a decimal fraction (a confidence 0.188546…) or a hex
# message id.
LOOSE_PHONE = re.compile(r"(?<![0-9a-fA-F.])1[3-9]\d{9}(?![0-9a-fA-F])")

ZHANG = "13800138000"
LI = "13900139000"
LI_SPOKEN = "幺三九 零零幺三 九零零零"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Servers at debug level writing trackers, events and logs under one folder."""
    work = tmp_path_factory.mktemp("privacy")
    with debug_servers(work) as bot:
        yield bot, work


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_full_conversations_leave_no_phone_or_code_behind(logged) -> None:
    """Typed and spoken numbers, a wrong and a right code, a cancellation and a handoff."""
    bot, work = logged
    first, second = f"privacy-{uuid.uuid4().hex[:8]}", f"privacy-{uuid.uuid4().hex[:8]}"
    secrets: List[str] = [ZHANG, LI, "0013", "0139"]

    assert "手机号" in "".join(bot.say(first, "我要取消腾讯视频会员"))
    bot.say(first, f"我的号码是 {ZHANG}")
    code = bot.code_for(ZHANG)
    wrong = _wrong(code)
    secrets += [code, wrong, f"{code[:3]} {code[3:]}"]
    assert "验证码不正确" in "".join(bot.say(first, f"验证码{wrong}"))
    confirm = bot.say(first, f"{code[:3]} {code[3:]}")
    assert "确认要取消" in "".join(confirm)
    done = bot.say(first, "确认取消")
    reference = find_reference(done)
    assert reference and bot.store.cancellation(reference).channel == "rest"
    bot.say(first, f"我换号了，新号是{ZHANG[:3]} {ZHANG[3:7]} {ZHANG[7:]}")

    log = [bot.say(second, "查一下我的会员"), bot.say(second, LI_SPOKEN)]
    spoken_code = bot.code_for(LI)
    secrets.append(spoken_code)
    log.append(bot.say(second, spoken_code))
    log.append(bot.say(second, f"转人工，我的号码{LI}，验证码{spoken_code}"))
    assert any("人工" in text for text in log[-1]), log

    files = written(work)
    assert {"rasa.log", "actions.log", "tracker.db", "events.log", "store.db"} <= set(files)
    # The logs are really at debug level, so a leak would show.
    assert "DEBUG" in files["rasa.log"] and "DEBUG" in files["actions.log"]
    assert "138****8000" in files["events.log"]
    for name, content in files.items():
        for secret in secrets:
            if secret in ("0013", "0139"):
                continue
            assert secret not in content, f"{secret!r} found in {name}"
        assert not LOOSE_PHONE.search(content), f"a phone number in {name}"
        for spoken in (LI_SPOKEN, json.dumps(LI_SPOKEN)[1:-1]):
            assert spoken not in content, f"the spoken number in {name}"
