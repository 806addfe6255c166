"""Nothing Rasa or the action server writes holds a full phone number or a code.

Both servers run at debug level with a file-backed SQL tracker store and a file event broker;
after whole conversations every file they wrote and everything they logged is searched.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest

from actions.settings import Settings
from actions.store import build_service
from tests.e2e.bot import (
    CORS,
    ROOT,
    Bot,
    find_reference,
    free_port,
    latest_model,
    secured,
    wait_for,
)
from tools.serve import commands, endpoints_file

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
LI = "13900139000"
LI_SPOKEN = "幺三九 零零幺三 九零零零"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Servers at debug level writing trackers, events and logs under one folder."""
    work = tmp_path_factory.mktemp("privacy")
    rasa_port, action_port = free_port(), free_port()
    env = secured(os.environ)
    env.update(
        STORE_URL=f"sqlite:///{work / 'store.db'}",
        SMS_OUTBOX=str(work / "outbox" / "sms_outbox.jsonl"),
        PARTNER_SIM_CONTROL=str(work / "partner_sim.json"),
        RASA_TELEMETRY_ENABLED="false",
        LOG_LEVEL="DEBUG",
        LOG_LEVEL_LIBRARIES="DEBUG",
    )
    extra = (
        "  store:\n    type: sql\n    dialect: sqlite\n"
        f"    db: {work / 'tracker.db'}\n"
        f"event_broker:\n  type: file\n  path: {work / 'events.log'}\n"
    )
    endpoints = endpoints_file(action_port, work, host="127.0.0.1", extra=extra)
    model = str(latest_model())
    action_cmd, rasa_cmd = commands(
        rasa_port, action_port, endpoints, CORS, model=model, api_token=env["RASA_API_TOKEN"]
    )
    action_log, rasa_log = work / "actions.log", work / "rasa.log"
    procs: List[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                action_cmd + ["--debug"],
                cwd=work,  # anything it writes lands here and is searched
                env={**env, "PYTHONPATH": str(ROOT)},
                stdout=action_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                rasa_cmd + ["--debug"],
                cwd=ROOT,
                env=env,
                stdout=rasa_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        settings = Settings.from_env(env)
        bot = Bot(f"http://127.0.0.1:{rasa_port}", settings, build_service(settings), env)
        bot.reseed()
        wait_for(f"http://127.0.0.1:{action_port}/health", procs[0], action_log)
        wait_for(f"http://127.0.0.1:{rasa_port}/", procs[1], rasa_log)
        yield bot, work
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _written(work: Path) -> dict:
    """Every file under `work` but the SMS outbox (the development SMS gateway itself)."""
    found = {}
    for path in work.rglob("*"):
        if path.is_file() and "outbox" not in path.parts:
            found[str(path.relative_to(work))] = path.read_bytes().decode("utf-8", "replace")
    return found


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

    written = _written(work)
    assert {"rasa.log", "actions.log", "tracker.db", "events.log", "store.db"} <= set(written)
    # The logs are really at debug level, so a leak would show.
    assert "DEBUG" in written["rasa.log"] and "DEBUG" in written["actions.log"]
    assert "138****8000" in written["events.log"]
    for name, content in written.items():
        for secret in secrets:
            if secret in ("0013", "0139"):
                continue
            assert secret not in content, f"{secret!r} found in {name}"
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", content), f"a phone number in {name}"
        for spoken in (LI_SPOKEN, json.dumps(LI_SPOKEN)[1:-1]):
            assert spoken not in content, f"the spoken number in {name}"
