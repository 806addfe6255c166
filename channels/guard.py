"""Checks of an incoming chat request: size, encoding, shape, control characters, rate."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Optional

MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 500
MAX_SENDER_CHARS = 128
# Senders a rate limiter remembers at most (a few hundred bytes each).
MAX_TRACKED_SENDERS = 100_000
# C0 and C1 control characters except tab and newline, plus zero-width and bidi overrides.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class RequestRejected(Exception):
    """The request cannot be processed; `status` and `code` say why."""

    def __init__(self, status: int, code: str) -> None:
        """Remembers the HTTP status and the machine-readable code."""
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ChatRequest:
    """A checked chat message."""

    sender: str
    message: str
    metadata: Optional[Dict[str, Any]]
    too_long: bool


def clean_text(text: str) -> str:
    """Removes control and invisible formatting characters; keeps emoji and newlines."""
    return _CONTROL.sub("", text).strip()


def json_object(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> Dict[str, Any]:
    """A request body as a JSON object: size, UTF-8, JSON and shape checked (RequestRejected)."""
    if len(body) > max_bytes:
        raise RequestRejected(413, "body_too_large")
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, "invalid_utf8") from exc
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RequestRejected(400, "invalid_json") from exc
    if not isinstance(data, dict):
        raise RequestRejected(400, "not_an_object")
    return data


def parse_chat_request(body: bytes) -> ChatRequest:
    """Validates a REST body {"sender", "message", "metadata"?}; raises RequestRejected."""
    data = json_object(body)
    sender = data.get("sender")
    if sender is None:
        raise RequestRejected(400, "missing_sender")
    if isinstance(sender, bool) or not isinstance(sender, (str, int)):
        raise RequestRejected(400, "invalid_sender")
    sender = clean_text(str(sender))
    if not sender or len(sender) > MAX_SENDER_CHARS:
        raise RequestRejected(400, "invalid_sender")
    if "message" not in data or data["message"] is None:
        raise RequestRejected(400, "missing_message")
    if not isinstance(data["message"], str):
        raise RequestRejected(400, "invalid_message")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestRejected(400, "invalid_metadata")
    message = clean_text(data["message"])
    return ChatRequest(
        sender=sender,
        message=message[:MAX_MESSAGE_CHARS],
        metadata=metadata,
        too_long=len(message) > MAX_MESSAGE_CHARS,
    )


class RateLimiter:
    """At most `limit` messages per `window` seconds per sender (sliding window, in memory).

    Memory is bounded: at most `max_senders` senders are tracked. Senders idle for a whole
    window are forgotten (they could not be limited anyway), and beyond the cap the least
    recently seen sender is forgotten first, so a flood of new senders costs a fixed amount.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = MAX_TRACKED_SENDERS,
    ) -> None:
        """Configures the window and the cap; the clock is injectable for tests."""
        self.limit = limit
        self.window = window
        self.max_senders = max(1, max_senders)
        self._clock = clock
        # Least recently seen first: eviction pops from the front.
        self._seen: OrderedDict[str, Deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def tracked(self) -> int:
        """How many senders are remembered now."""
        # Not __len__: an empty limiter would be falsy, and `limiter or RateLimiter()` is common.
        return len(self._seen)

    def retry_after(self, sender: str) -> float:
        """0 when the message may pass (and counts it), else seconds until it would."""
        now = self._clock()
        with self._lock:
            seen = self._seen.get(sender)
            if seen is None:
                seen = self._seen[sender] = deque()
            else:
                self._seen.move_to_end(sender)
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return self.window - (now - seen[0])
            seen.append(now)
            self._forget(now)
            return 0.0

    def _forget(self, now: float) -> None:
        """Drops idle senders from the front, then the least recently seen beyond the cap."""
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest and now - oldest[-1] < self.window:
                break
            self._seen.popitem(last=False)
        while len(self._seen) > self.max_senders:
            self._seen.popitem(last=False)
