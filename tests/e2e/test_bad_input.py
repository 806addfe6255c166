"""Bad input over HTTP: a clear 4xx JSON error or a polite reply, never a 500, no store change."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Tuple

import pytest

from tests.e2e.bot import Bot

pytestmark = pytest.mark.e2e
PHONES = ("13800138000", "13900139000", "13700137000", "13600136000")


def post(bot: Bot, raw: bytes) -> Tuple[int, object]:
    """POSTs raw bytes to the REST webhook; (status, parsed JSON body)."""
    request = urllib.request.Request(
        f"{bot.url}/webhooks/rest/webhook", data=raw, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


def store_state(bot: Bot) -> list:
    """Everything a bad request must not change."""
    return [(s.id, s.status) for p in PHONES for s in bot.store.subscriptions(p)]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_utf8"),
        (b'{"message": "hi"}', 400, "missing_sender"),
        (b'{"sender": "u", "message": 5}', 400, "invalid_message"),
        (b'{"sender": {"a": 1}, "message": "hi"}', 400, "invalid_sender"),
        (b'{"sender": "u", "message": "' + b"a" * 20000 + b'"}', 413, "body_too_large"),
    ],
)
def test_malformed_requests_get_json_errors(fresh: Bot, raw: bytes, status: int, code: str) -> None:
    """Each malformed request gets its 4xx JSON error and changes nothing."""
    before = store_state(fresh)
    got_status, got = post(fresh, raw)
    assert (got_status, got["error"]) == (status, code)
    assert got["message"]
    assert store_state(fresh) == before


def test_hostile_text_is_just_text(fresh: Bot, sender: str) -> None:
    """SQL-like and script text is answered like any other message, and changes nothing."""
    before = store_state(fresh)
    for text in (
        "'; DROP TABLE subscriptions; --",
        "<script>alert(1)</script>取消",
        "\x00\x1b[31m",
        "🙏🙏🙏",
    ):
        status, replies = post(fresh, json.dumps({"sender": sender, "message": text}).encode())
        assert status == 200 and isinstance(replies, list)
    assert store_state(fresh) == before


def test_long_message_gets_a_clear_reply(bot: Bot, sender: str) -> None:
    """An over-long message is answered with how long a message may be."""
    status, replies = post(bot, json.dumps({"sender": sender, "message": "退" * 800}).encode())
    assert status == 200 and "太长" in replies[0]["text"]


def test_fast_repeated_messages_are_rate_limited(bot: Bot, sender: str) -> None:
    """More than 20 messages in 10 s from one sender: 429 with a Chinese reply and Retry-After."""
    statuses = [
        post(bot, json.dumps({"sender": sender, "message": "你好"}).encode()) for _ in range(22)
    ]
    limited = [body for status, body in statuses if status == 429]
    assert limited, "no request was rate limited"
    assert "太快" in limited[0]["reply"] and limited[0]["retry_after"] >= 1
