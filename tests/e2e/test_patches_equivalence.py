"""The patches change no conversation: the same conversations on a patched and an unpatched
Rasa server (`python -m rasa_patches run`, with RASA_PATCHES=none for the unpatched one) leave
the same tracker events, every field compared except those that differ by nature.

Each server has its own action server, store and outbox. The action servers issue the same
verification codes in the same order (deterministic codes, tests/e2e/fixed_codes.py): a user's
code is part of the text the NLU classifies, so random codes would change the parse itself.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from core.identity.conversation import namespaced
from core.sms.outbox import latest_code
from stack.bot import Bot
from stack.launch import build, work_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 300

ZHANG = "13800138000"
# Each conversation a list of user texts; {code} is the code last sent to ZHANG.
CONVERSATIONS: Dict[str, List[str]] = {
    "cancel-named-with-code": [
        "帮我把腾讯视频的自动续费关了", ZHANG, "验证码{code}", "确认取消", "价格太贵了", "不用了",
    ],
    "wrong-code-then-pick-from-list": [
        "我想取消自动续费", ZHANG, "验证码000000", "{code}", "1", "确认取消", "谢谢",
    ],
    "fallback-to-handoff": ["今天天气怎么样", "/nlu_fallback", "/nlu_fallback", "/affirm"],
    "handoff-mid-flow": ["我要取消腾讯视频", ZHANG, "转人工"],
    "questions-and-small-talk": ["你好", "有哪些取消方式", "商家不让取消合法吗", "谢谢", "再见"],
    "overview-then-decline": ["我开了哪些会员", ZHANG, "{code}", "先不取消", "谢谢"],
}  # fmt: skip
# Slots holding a wall-clock time (domain.yml).
TIME_SLOTS = ("verified_at",)
# Cancellation, handoff and refund references: a random part by design (core/references.py).
REFERENCE = re.compile(r"(?<![0-9A-Z])[A-Z]{2}\d{8}[0-9A-HJKMNP-TV-Z]{6}(?![0-9A-Z])")


def events(bot: Bot, sender: str) -> List[Dict[str, Any]]:
    """The REST sender's tracker events (under its namespaced id), from Rasa's HTTP API."""
    conversation = urllib.parse.quote(namespaced("rest", sender), safe=":")
    url = bot.api_url(f"/conversations/{conversation}/tracker")
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))["events"]


# This run's secrets, the same for both pairs of servers: the channel assertion key also
# keys the hash of the client's address kept in each user event's metadata (client_source).
SECRETS = {
    name: secrets.token_urlsafe(32)
    for name in ("ACTION_SERVER_TOKEN", "RASA_API_TOKEN", "CHANNEL_ASSERTION_KEY")
}


@contextmanager
def served(work: Path, model: Path, patches: str) -> Iterator[Bot]:
    """The shipped stack (stack.launch) with an action server that issues codes in a fixed
    order, on a fresh demo store in `work`, with RASA_PATCHES=`patches`; stopped on exit."""
    work.mkdir()
    env = work_env(work, **SECRETS, RASA_PATCHES=patches, TF_ENABLE_ONEDNN_OPTS="0")
    env.pop("RASA_PATCHES_DISABLE", None)
    stack = build(
        work,
        env,
        model=str(model),
        api_token=env["RASA_API_TOKEN"],
        action_module="tests.e2e.fixed_codes",
    )
    try:
        stack.spawn()
        bot = Bot.of(stack.url, env)
        bot.reseed()
        stack.wait()
        yield bot
    finally:
        stack.stop()


def comparable(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The events without what differs by nature between two servers.

    Dropped: each event's `timestamp` (wall clock) and `message_id` (Rasa gives every user
    message a random uuid; it also appears inside `parse_data`). Replaced by a placeholder:
    references (their suffix is random) and the value of the `verified_at` slot (the wall-clock
    time of the verification, set by the action server). Everything else is kept, `metadata`
    included: both servers load the same model file, so `model_id` and `assistant_id` agree,
    and share the key of `client_source`.
    """
    events = [
        {**e, "value": "<time>"} if e.get("event") == "slot" and e.get("name") in TIME_SLOTS
        else e
        for e in events
    ]  # fmt: skip
    text = REFERENCE.sub("<reference>", json.dumps(events, ensure_ascii=False))

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("timestamp", "message_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(text))


def talk(bot: Bot) -> Dict[str, List[Dict[str, Any]]]:
    """Runs every conversation on `server`; each one's comparable events."""
    found = {}
    for sender, turns in CONVERSATIONS.items():
        for turn in turns:
            code = latest_code(bot.settings.sms_outbox, ZHANG) or ""
            bot.say(sender, turn.format(code=code))
        found[sender] = comparable(events(bot, sender))
    return found


def first_difference(a: List[Dict[str, Any]], b: List[Dict[str, Any]]) -> str:
    """Where two event lists part, for the failure message."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"event {i}:\n  patched:   {x}\n  unpatched: {y}"
    return f"lengths {len(a)} and {len(b)}"


def test_patched_and_unpatched_rasa_leave_the_same_events(tmp_path: Path) -> None:
    """Every event of six conversations (cancellations with a code, a wrong code, a fallback,
    handoffs, questions) is the same with and without the patches and the parse cache."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.skip("no trained model in models/ (make train)")
    with ExitStack() as stack:
        patched = stack.enter_context(served(tmp_path / "patched", models[-1], "all"))
        plain = stack.enter_context(served(tmp_path / "unpatched", models[-1], "none"))
        with_patches, without = talk(patched), talk(plain)
        patched_log = (tmp_path / "patched" / "rasa.log").read_text()
        plain_log = (tmp_path / "unpatched" / "rasa.log").read_text()

    assert "Rasa speed patches: applied: action_result, event_types, debug_copies" in patched_log
    assert "Rasa features: applied: parse_cache (PARSE_CACHE_SIZE=" in patched_log
    assert "Rasa speed patches: disabled: action_result (RASA_PATCHES=none)" in plain_log
    assert "SKIPPED" not in patched_log
    for sender in CONVERSATIONS:
        ours, theirs = with_patches[sender], without[sender]
        assert ours == theirs, f"{sender}: {first_difference(ours, theirs)}"
    # The conversations did what they are named for (else the comparison proves little).
    for sender, turns in CONVERSATIONS.items():
        users = [e for e in with_patches[sender] if e["event"] == "user"]
        assert len(users) == len(turns), sender
    texts = json.dumps(with_patches, ensure_ascii=False)
    assert texts.count("<reference>") >= 4  # two cancellations, two handoff tickets
    assert "验证码不正确" in texts and "身份验证成功" in texts
    assert "action_handle_fallback" in texts and "工单号" in texts
