"""rasa_plugins.redis_lock_store: Rasa's ticket lock, each change atomic, in its stored format."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import List

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_plugins.redis_lock_store import AtomicRedisLockStore
from tests.unit.redis_fixtures import redis_host_port

CONVERSATION = "lock-test"


def _stores(prefix: str) -> tuple:
    host, port = redis_host_port()
    ours = AtomicRedisLockStore(host=host, port=port, key_prefix=prefix)
    rasas = RedisLockStore(host=host, port=port, key_prefix=prefix)
    return ours, rasas


def test_tickets_are_numbered_served_in_order_and_given_back(redis_prefix: str) -> None:
    ours, rasas = _stores(redis_prefix)
    assert [ours.issue_ticket(CONVERSATION) for _ in range(3)] == [0, 1, 2]
    lock = rasas.get_lock(CONVERSATION)  # Rasa reads what we stored
    assert [t.number for t in lock.tickets] == [0, 1, 2] and lock.now_serving == 0
    ours.cleanup(CONVERSATION, 0)
    assert rasas.get_lock(CONVERSATION).now_serving == 1
    ours.cleanup(CONVERSATION, 2)  # a later ticket can leave first (its message timed out)
    assert [t.number for t in rasas.get_lock(CONVERSATION).tickets] == [1]
    ours.cleanup(CONVERSATION, 1)
    assert rasas.get_lock(CONVERSATION) is None  # nobody waits: the lock is deleted


def test_stored_format_is_rasas(redis_prefix: str) -> None:
    ours, rasas = _stores(redis_prefix)
    before = time.time()
    ours.issue_ticket(CONVERSATION, lock_lifetime=60)
    raw = json.loads(ours.red.get(ours.key_prefix + CONVERSATION))
    assert raw["conversation_id"] == CONVERSATION
    (ticket,) = (json.loads(t) for t in raw["tickets"])
    assert ticket["number"] == 0
    assert before + 60 - 0.01 <= ticket["expires"] <= time.time() + 60 + 0.01


def test_mixed_with_rasas_own_store(redis_prefix: str) -> None:
    ours, rasas = _stores(redis_prefix)
    assert rasas.issue_ticket(CONVERSATION) == 0
    assert ours.issue_and_check(CONVERSATION, 60) == [1, 0]
    assert rasas.issue_ticket(CONVERSATION) == 2
    rasas.cleanup(CONVERSATION, 0)
    assert ours.issue_and_check(CONVERSATION, 60) == [3, 1]


def test_expired_tickets_are_dropped(redis_prefix: str) -> None:
    ours, rasas = _stores(redis_prefix)
    ours.issue_ticket(CONVERSATION, lock_lifetime=-1)  # a holder that died long ago
    ours.issue_ticket(CONVERSATION, lock_lifetime=-1)
    assert ours.issue_and_check(CONVERSATION, 60) == [0, 0]  # as Rasa: served at once
    ours.issue_ticket(CONVERSATION, lock_lifetime=-1)
    ours.update_lock(CONVERSATION)
    assert [t.number for t in rasas.get_lock(CONVERSATION).tickets] == [0]
    ours.cleanup(CONVERSATION, 0)
    assert rasas.get_lock(CONVERSATION) is None


def test_concurrent_issuers_never_share_a_number(redis_prefix: str) -> None:
    host, port = redis_host_port()
    numbers: List[int] = []
    guard = threading.Lock()

    def issue() -> None:
        store = AtomicRedisLockStore(host=host, port=port, key_prefix=redis_prefix)
        mine = [store.issue_ticket(CONVERSATION) for _ in range(50)]
        with guard:
            numbers.extend(mine)

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(400))


def test_lock_holds_a_second_message_until_the_first_is_done(redis_prefix: str) -> None:
    ours, _ = _stores(redis_prefix)
    order: List[str] = []

    async def turn(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with ours.lock(CONVERSATION, wait_time_in_seconds=0.05) as lock:
            assert lock.conversation_id == CONVERSATION
            order.append(f"{name} in")
            await asyncio.sleep(0.2)
            order.append(f"{name} out")

    async def both() -> None:
        await asyncio.gather(turn("first", 0), turn("second", 0.05))

    asyncio.run(both())
    assert order == ["first in", "first out", "second in", "second out"]
    assert ours.get_lock(CONVERSATION) is None


def test_a_store_failure_is_a_lock_error(redis_prefix: str) -> None:
    from rasa.core.lock_store import LockError

    store = AtomicRedisLockStore(host="127.0.0.1", port=1, key_prefix=redis_prefix)
    with pytest.raises(LockError, match="Error while acquiring lock"):
        store.issue_ticket(CONVERSATION)


def test_rasa_builds_it_from_endpoints(redis_prefix: str) -> None:
    host, port = redis_host_port()
    config = EndpointConfig(
        type="rasa_plugins.redis_lock_store.AtomicRedisLockStore",
        url=host,
        port=port,
        key_prefix=redis_prefix,
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix.startswith(redis_prefix + ":")
    assert store.issue_ticket(CONVERSATION) == 0
