"""What a channel remembers between requests: in this process, or in a real Redis."""

from __future__ import annotations

import pytest

from channels.conversation_memory import (
    LocalMemory,
    MemoryUnavailable,
    RedisMemory,
    Remembered,
    memory_from_credentials,
)
from tests.unit.redis_fixtures import REDIS_URL, redis_prefix  # noqa: F401 (fixture)
from turns.answer import answer_of, describe

ANSWER = answer_of(
    [
        {"text": "已为您取消。", "next": describe("utter_cancelled", None, {"reference": "TD1"})},
        {"text": "确认要取消吗？", "next": describe("utter_ask_cancel_confirmed")},
    ]
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_remembered_survives_json() -> None:
    """The answer and the state come back equal."""
    remembered = Remembered(ANSWER, {"spoke": True, "step": "confirm"})
    assert Remembered.from_json(remembered.to_json()) == remembered
    assert Remembered.from_json(Remembered().to_json()) == Remembered()


def test_local_memory_recalls_per_conversation_and_forgets() -> None:
    """Each id its own memory; an unknown id is empty; forget drops it."""
    memory = LocalMemory()
    memory.remember("ivr:a", Remembered(ANSWER, {"step": "confirm"}))
    assert memory.recall("ivr:a") == Remembered(ANSWER, {"step": "confirm"})
    assert memory.recall("ivr:b") == Remembered()
    memory.forget("ivr:a")
    assert memory.recall("ivr:a") == Remembered()


def test_local_memory_is_a_snapshot() -> None:
    """Changing a recalled state does not change what is kept."""
    memory = LocalMemory()
    memory.remember("c", Remembered(None, {"n": 1}))
    memory.recall("c").state["n"] = 2
    assert memory.recall("c").state == {"n": 1}


def test_local_memory_expires_after_its_ttl() -> None:
    """Remembered for ttl seconds after the last write; a new write restarts the time."""
    clock = Clock()
    memory = LocalMemory(ttl=60, clock=clock)
    memory.remember("c", Remembered(ANSWER))
    clock.now += 59
    assert memory.recall("c").answer == ANSWER
    memory.remember("c", Remembered(ANSWER))
    clock.now += 59
    assert memory.recall("c").answer == ANSWER
    clock.now += 1
    assert memory.recall("c") == Remembered()
    assert len(memory) == 0


def test_local_memory_evicts_the_least_recently_used() -> None:
    """Beyond `size`, the conversation untouched longest goes first."""
    memory = LocalMemory(size=2)
    memory.remember("a", Remembered(None, {"x": 1}))
    memory.remember("b", Remembered(None, {"x": 2}))
    memory.recall("a")
    memory.remember("c", Remembered(None, {"x": 3}))
    assert memory.recall("b") == Remembered()
    assert memory.recall("a").state == {"x": 1} and memory.recall("c").state == {"x": 3}


def test_credentials_choose_the_memory(monkeypatch) -> None:
    """No URL: in this process; memory_url or memory_url_env: Redis; anything else refused."""
    local = memory_from_credentials({"memory_ttl": 30, "memory_size": 5})
    assert isinstance(local, LocalMemory) and (local.ttl, local.size) == (30, 5)
    assert isinstance(memory_from_credentials(None), LocalMemory)
    redis_memory = memory_from_credentials({"memory_url": "redis://127.0.0.1:6379/0"})
    assert isinstance(redis_memory, RedisMemory)
    monkeypatch.setenv("CHANNEL_MEMORY_URL", "redis://127.0.0.1:6379/1")
    from_env = memory_from_credentials({"memory_url_env": "CHANNEL_MEMORY_URL"})
    assert isinstance(from_env, RedisMemory)
    monkeypatch.delenv("CHANNEL_MEMORY_URL")
    assert isinstance(
        memory_from_credentials({"memory_url_env": "CHANNEL_MEMORY_URL"}), LocalMemory
    )
    with pytest.raises(ValueError, match="redis://"):
        memory_from_credentials({"memory_url": "http://cache:6379"})


def test_redis_memory_shares_conversations_between_instances(redis_prefix: str) -> None:  # noqa: F811
    """Two processes (two instances) see the same memory; forget and expiry go through Redis."""
    import redis

    one = RedisMemory(REDIS_URL, ttl=120, prefix=redis_prefix)
    two = RedisMemory(REDIS_URL, ttl=120, prefix=redis_prefix)
    one.remember("ivr:call-1", Remembered(ANSWER, {"spoke": True}))
    assert two.recall("ivr:call-1") == Remembered(ANSWER, {"spoke": True})
    assert two.recall("ivr:call-2") == Remembered()
    client = redis.Redis.from_url(REDIS_URL)
    assert 0 < client.ttl(f"{redis_prefix}:ivr:call-1") <= 120
    client.set(f"{redis_prefix}:ivr:bad", b"\xff not json")
    assert one.recall("ivr:bad") == Remembered(), "a foreign value is an empty memory"
    two.forget("ivr:call-1")
    assert one.recall("ivr:call-1") == Remembered()
    client.close()


def test_an_unreachable_redis_is_reported_not_hidden() -> None:
    """A Redis that is down raises MemoryUnavailable, which the channel answers as busy."""
    memory = RedisMemory("redis://127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(MemoryUnavailable):
        memory.recall("c")
    with pytest.raises(MemoryUnavailable):
        memory.remember("c", Remembered())
