"""In-process memory of the SMS channel: per-phone ordering and the answers to gateway retries.

The retry table is a bounded LRU inside one Rasa server process, enough for `rasa run` (one
Sanic worker). With several workers or replicas, route each phone to one process (sticky by
`from`) or keep the table in a shared store such as Redis (SET key NX with a TTL, keyed by
phone and message_id). The last answer of each conversation (what a menu number picks) is
kept in the channel's conversation memory (channels/conversation_memory.py), which can be Redis.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Awaitable, Callable, Dict, Hashable, Optional, Tuple

from channels.lru import Lru


class PhoneLocks:
    """One lock per phone, so one phone's SMS are handled in the order they arrive."""

    def __init__(self) -> None:
        """Locks live only while someone holds or waits for them."""
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, phone: str) -> asyncio.Lock:
        """The phone's lock."""
        lock = self._locks.get(phone)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[phone] = lock
        return lock


Result = Tuple[int, Dict[str, Any]]


class RetryCache:
    """Answers a gateway's retry of a message_id with the first answer, processing it once."""

    def __init__(self, size: int = 10_000) -> None:
        """Remembers the answers to up to `size` messages."""
        self._done: Lru[Result] = Lru(size)
        self._running: Dict[Hashable, asyncio.Future[Result]] = {}

    async def once(
        self,
        key: Optional[Hashable],
        produce: Callable[[], Awaitable[Result]],
        keep: Callable[[Result], bool] = lambda result: result[0] == 200,
    ) -> Result:
        """The cached answer for `key`, the answer of a run in progress, or a new one.

        Only answers `keep` accepts are remembered (200 by default): a failed turn may be
        retried by the gateway. A retry arriving while the first is running waits for it.
        """
        if key is None:
            return await produce()
        cached = self._done.get(key)
        if cached is not None:
            return cached
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await produce()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:  # handed to any waiting retry, then raised here as well
            future.set_exception(exc)
            future.exception()  # marks it retrieved: no warning when nobody else waits
            raise
        finally:
            self._running.pop(key, None)
        if keep(result):
            self._done.put(key, result)
        future.set_result(result)
        return result
