"""What a channel remembers between the requests of one conversation: the last answer it
rendered and a little state of its own (which step a call is at, whether the caller spoke).

This is the channel's translation state, not the conversation: the dialogue's state lives in
the tracker store, which no channel reads. Entries expire after a while (`ttl` seconds) and
are kept per conversation id, either in this process (`LocalMemory`, the default, enough for
one `rasa run` process) or in Redis (`RedisMemory`), which every process and replica shares.

Chosen in credentials.yml, per channel:
  memory_url: redis://host:6379/0        # or memory_url_env: NAME_OF_A_VARIABLE holding it
  memory_ttl: 3600                       # seconds an idle conversation is remembered
  memory_size: 10000                     # in-process only: conversations kept at most
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from channels.lru import Lru
from turns.answer import Answer

DEFAULT_TTL = 3600
DEFAULT_SIZE = 10_000
REDIS_PREFIX = "channel_memory"

Clock = Callable[[], float]


class MemoryUnavailable(Exception):
    """The memory's backing store could not be read or written (e.g. Redis is down)."""


@dataclass(frozen=True)
class Remembered:
    """One conversation's memory: the last answer rendered (None before the first) and the
    channel's own small state (JSON values only)."""

    answer: Optional[Answer] = None
    state: Dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """As stored."""
        answer = self.answer.to_dict() if self.answer is not None else None
        return json.dumps({"answer": answer, "state": self.state}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Remembered:
        """The inverse of `to_json`."""
        data = json.loads(raw)
        answer = data.get("answer")
        return cls(
            answer=Answer.from_dict(answer) if answer else None,
            state=dict(data.get("state") or {}),
        )


class ConversationMemory:
    """Per-conversation memory with expiry; `recall` of an unknown id is an empty memory."""

    ttl: int = DEFAULT_TTL

    def recall(self, conversation_id: str) -> Remembered:
        """What was remembered for the conversation (empty if nothing, or expired)."""
        raise NotImplementedError

    def remember(self, conversation_id: str, remembered: Remembered) -> None:
        """Replaces the conversation's memory and restarts its expiry."""
        raise NotImplementedError

    def forget(self, conversation_id: str) -> None:
        """Drops the conversation's memory (the call or session is over)."""
        raise NotImplementedError


class LocalMemory(ConversationMemory):
    """In this process: a bounded LRU of JSON snapshots with expiry."""

    def __init__(
        self, ttl: int = DEFAULT_TTL, size: int = DEFAULT_SIZE, clock: Clock = time.monotonic
    ) -> None:
        """Up to `size` conversations, each for `ttl` seconds after it was last remembered."""
        self.ttl = max(1, int(ttl))
        self.size = max(1, int(size))
        self._clock = clock
        # Snapshots (not objects): what is recalled never changes what is kept.
        self._items: Lru[Tuple[float, str]] = Lru(self.size)

    def recall(self, conversation_id: str) -> Remembered:
        """The remembered snapshot, or an empty memory."""
        item = self._items.get(conversation_id)
        if item is None:
            return Remembered()
        expires, raw = item
        if self._clock() >= expires:
            self._items.pop(conversation_id)
            return Remembered()
        return Remembered.from_json(raw)

    def remember(self, conversation_id: str, remembered: Remembered) -> None:
        """Keeps a snapshot, evicting the least recently used conversations when full."""
        self._items.put(conversation_id, (self._clock() + self.ttl, remembered.to_json()))

    def forget(self, conversation_id: str) -> None:
        """Drops the conversation, if kept."""
        self._items.pop(conversation_id)

    def __len__(self) -> int:
        """Conversations kept (expired ones included until touched)."""
        return len(self._items)


class RedisMemory(ConversationMemory):
    """In Redis, shared by every process: one key per conversation, expiring with `ttl`.

    The client is synchronous with short timeouts, as Rasa's own Redis stores are: a local
    Redis answers in well under a millisecond.
    """

    def __init__(
        self,
        url: str,
        ttl: int = DEFAULT_TTL,
        prefix: str = REDIS_PREFIX,
        timeout: float = 2.0,
    ) -> None:
        """`url` as redis://[:password@]host:port/db; no connection is made until used."""
        import redis

        self.ttl = max(1, int(ttl))
        self.prefix = prefix
        self._errors = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def _key(self, conversation_id: str) -> str:
        return f"{self.prefix}:{conversation_id}"

    def recall(self, conversation_id: str) -> Remembered:
        """The stored memory, or an empty one; MemoryUnavailable when Redis fails."""
        try:
            raw = self._client.get(self._key(conversation_id))
        except self._errors as exc:
            raise MemoryUnavailable(f"reading the channel memory failed: {exc}") from exc
        if raw is None:
            return Remembered()
        try:
            return Remembered.from_json(raw.decode("utf-8"))
        except (ValueError, AttributeError):  # written by something else: start afresh
            return Remembered()

    def remember(self, conversation_id: str, remembered: Remembered) -> None:
        """Stores the memory with its expiry; MemoryUnavailable when Redis fails."""
        try:
            self._client.set(self._key(conversation_id), remembered.to_json(), ex=self.ttl)
        except self._errors as exc:
            raise MemoryUnavailable(f"writing the channel memory failed: {exc}") from exc

    def forget(self, conversation_id: str) -> None:
        """Deletes the key; MemoryUnavailable when Redis fails."""
        try:
            self._client.delete(self._key(conversation_id))
        except self._errors as exc:
            raise MemoryUnavailable(f"deleting the channel memory failed: {exc}") from exc


def memory_from_credentials(
    credentials: Optional[Mapping[str, Any]], prefix: str = REDIS_PREFIX
) -> ConversationMemory:
    """The memory a channel's credentials ask for: Redis with `memory_url` (or the variable
    named by `memory_url_env`), else in this process; `memory_ttl`, `memory_size` tune it."""
    credentials = credentials or {}
    ttl = int(credentials.get("memory_ttl") or DEFAULT_TTL)
    url = str(credentials.get("memory_url") or "")
    if not url and credentials.get("memory_url_env"):
        url = os.environ.get(str(credentials["memory_url_env"]), "")
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"memory_url must be a redis:// URL, not {url.split(':', 1)[0]!r}")
        return RedisMemory(url, ttl=ttl, prefix=prefix)
    return LocalMemory(ttl=ttl, size=int(credentials.get("memory_size") or DEFAULT_SIZE))
