"""The REST channel's request checks and rate limit."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.guard import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    RateLimiter,
    RequestRejected,
    clean_text,
    parse_chat_request,
)


def body(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def test_a_good_request_passes_unchanged() -> None:
    """sender, message and metadata come through."""
    chat = parse_chat_request(body(sender="u1", message="取消绿钻", metadata={"a": 1}))
    assert (chat.sender, chat.message, chat.metadata, chat.too_long) == (
        "u1",
        "取消绿钻",
        {"a": 1},
        False,
    )


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe\x00", 400, "invalid_utf8"),
        (b"[1, 2]", 400, "not_an_object"),
        (body(message="hi"), 400, "missing_sender"),
        (body(sender="", message="hi"), 400, "invalid_sender"),
        (body(sender=["x"], message="hi"), 400, "invalid_sender"),
        (body(sender=True, message="hi"), 400, "invalid_sender"),
        (body(sender="x" * 200, message="hi"), 400, "invalid_sender"),
        (body(sender="u"), 400, "missing_message"),
        (body(sender="u", message=42), 400, "invalid_message"),
        (body(sender="u", message="hi", metadata="x"), 400, "invalid_metadata"),
        (b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}", 413, "body_too_large"),
        (b"[" * 5000 + b"]" * 5000, 400, "invalid_json"),
    ],
    ids=lambda v: v[:24].decode("utf-8", "replace") if isinstance(v, bytes) else str(v),
)
def test_bad_requests_are_rejected_with_a_reason(raw: bytes, status: int, code: str) -> None:
    """Each malformed request names what is wrong, with a 4xx status."""
    with pytest.raises(RequestRejected) as caught:
        parse_chat_request(raw)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_long_messages_are_capped_and_flagged() -> None:
    """An over-long message is flagged so the channel answers instead of the bot."""
    chat = parse_chat_request(body(sender="u", message="退" * (MAX_MESSAGE_CHARS + 5)))
    assert chat.too_long and len(chat.message) == MAX_MESSAGE_CHARS


def test_control_characters_go_and_emoji_stay() -> None:
    """Control and invisible characters are removed; emoji and newlines are kept."""
    assert clean_text("取消\x00绿钻\u202e🙏\n好的\x1b") == "取消绿钻🙏\n好的"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_either_parse_or_are_rejected_cleanly(raw: bytes) -> None:
    """No byte string makes the check raise anything but RequestRejected."""
    try:
        parse_chat_request(raw)
    except RequestRejected as exc:
        assert 400 <= exc.status < 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["sender", "message", "metadata", "x"]), json_values))
def test_any_json_object_either_parses_or_is_rejected_cleanly(data: dict) -> None:
    """Whatever the field types, the outcome is a ChatRequest or a 4xx rejection."""
    try:
        chat = parse_chat_request(json.dumps(data).encode("utf-8"))
    except RequestRejected as exc:
        assert exc.status == 400
    else:
        assert isinstance(chat.message, str) and isinstance(chat.sender, str) and chat.sender


def test_rate_limit_per_sender_with_a_sliding_window() -> None:
    """The 4th message within the window waits; other senders are unaffected; the window slides."""
    now = [0.0]
    limiter = RateLimiter(limit=3, window=10, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("a") == pytest.approx(10.0)
    assert limiter.retry_after("b") == 0.0
    now[0] = 10.5
    assert limiter.retry_after("a") == 0.0


def test_a_million_senders_keep_the_limiter_at_its_cap() -> None:
    """Memory stays bounded: 1,000,000 distinct senders within one window (none idle) leave
    exactly `max_senders` tracked, and an active sender is still limited."""
    limiter = RateLimiter(limit=3, window=10, clock=lambda: 5.0, max_senders=1000)
    assert [limiter.retry_after("active") for _ in range(3)] == [0.0, 0.0, 0.0]
    for number in range(1_000_000):
        limiter.retry_after(f"s{number}")
        if number % 500 == 0:  # the active sender keeps talking: it is never the one evicted
            assert limiter.retry_after("active") == pytest.approx(10.0)
    assert limiter.tracked == 1000
    assert limiter.retry_after("active") == pytest.approx(10.0)


def test_idle_senders_are_forgotten_and_the_least_recently_seen_goes_first() -> None:
    """A sender silent for a whole window is dropped; beyond the cap the oldest goes."""
    now = [0.0]
    limiter = RateLimiter(limit=2, window=10, clock=lambda: now[0], max_senders=3)
    for sender in ("a", "b", "c"):
        limiter.retry_after(sender)
    now[0] = 1.0
    limiter.retry_after("a")  # a is now the most recently seen
    limiter.retry_after("d")  # over the cap: b (least recently seen) is forgotten
    assert limiter.tracked == 3
    assert limiter.retry_after("a") == pytest.approx(9.0), "a kept its history"
    assert limiter.retry_after("b") == 0.0 and limiter.retry_after("b") == 0.0, "b started over"
    now[0] = 30.0
    limiter.retry_after("e")
    assert limiter.tracked == 1, "everyone idle for a window is forgotten"
