"""Rasa's Redis lock store with each lock change made atomically, in one round trip.

endpoints.yml (the same options as Rasa's `type: redis`):

    lock_store:
      type: rasa_plugins.redis_lock_store.AtomicRedisLockStore
      url: localhost
      ...

What is wrong upstream: Rasa 3.6's `RedisLockStore` changes a conversation's ticket lock by
reading it, changing it in Python and writing it back, so two processes taking a ticket for
the same conversation at the same moment can both get the same number and handle two
messages of one conversation at once (docs/deployment.md). It also takes seven blocking round
trips per message (issue: GET+SET, acquire: GET, cleanup: GET+SET, GET, DEL), about 13 % of a
worker's time in a profile of two Sanic workers under load.

The fix keeps Rasa's ticket-lock algorithm and the stored format (so processes running
Rasa's own store can share the keys during a rollout), and makes each change one Lua script,
which Redis runs atomically: taking a ticket (and learning whether it is already being
served), dropping expired tickets, and giving a ticket back (deleting the lock when nobody
else waits). A message whose ticket is served at once costs two round trips. How to tell it is
still needed: Rasa's `LockStore.issue_ticket` still does `get_or_create_lock` then
`save_lock`.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, List, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_patches.guard import require_upstream

# What the scripts mirror: Rasa's ticket-lock algorithm and the stored format. If any of it
# changes upstream the store refuses to start (a lock that disagrees with Rasa's own during a
# rollout would let two processes handle one conversation at once).
WRITTEN_FOR = {"rasa": "3.6.21"}
UPSTREAM = {
    "rasa.core.lock_store:LockStore": "5dfc549bf88ea8d6",
    "rasa.core.lock_store:RedisLockStore": "9c6f96277dd72cc0",
    "rasa.core.lock": "8beb5a64e5353321",
}

# Shared by the scripts: the lock's unexpired tickets (Rasa: a ticket expires when now > expires),
# each kept as the JSON text Rasa stores, with its decoded number.
_LIVE_TICKETS = """
local function live_tickets(raw, now)
  local kept = {}
  if raw then
    local lock = cjson.decode(raw)
    if type(lock.tickets) == 'table' then
      for _, text in ipairs(lock.tickets) do
        local ticket = cjson.decode(text)
        if not (now > tonumber(ticket.expires)) then
          table.insert(kept, {text = text, number = tonumber(ticket.number)})
        end
      end
    end
  end
  return kept
end
local function save(key, conversation_id, kept)
  if #kept == 0 then
    redis.call('DEL', key)
    return
  end
  local texts = {}
  for i, ticket in ipairs(kept) do texts[i] = ticket.text end
  redis.call('SET', key, cjson.encode({conversation_id = conversation_id, tickets = texts}))
end
"""
# KEYS[1] lock key; ARGV: now, lifetime, conversation id. → {ticket number, number served now}.
ISSUE = (
    _LIVE_TICKETS
    + """
local now = tonumber(ARGV[1])
local kept = live_tickets(redis.call('GET', KEYS[1]), now)
local number = 0
if #kept > 0 then number = kept[#kept].number + 1 end
local text = cjson.encode({number = number, expires = now + tonumber(ARGV[2])})
table.insert(kept, {text = text, number = number})
save(KEYS[1], ARGV[3], kept)
return {number, kept[1].number}
"""
)
# KEYS[1] lock key; ARGV: now, conversation id, ticket to give back ("" = none).
# → the number of tickets left (0: the lock was deleted).
RELEASE = (
    _LIVE_TICKETS
    + """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local kept = live_tickets(raw, tonumber(ARGV[1]))
if ARGV[3] ~= '' then
  local number = tonumber(ARGV[3])
  for i, ticket in ipairs(kept) do
    if ticket.number == number then table.remove(kept, i) break end
  end
end
save(KEYS[1], ARGV[2], kept)
return #kept
"""
)


class AtomicRedisLockStore(RedisLockStore):
    """`rasa.core.lock_store.RedisLockStore` whose lock changes are single Lua scripts."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        require_upstream("rasa_plugins.redis_lock_store", WRITTEN_FOR, UPSTREAM)
        if endpoint_config is not None:  # how Rasa builds a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)
        self._issue = self.red.register_script(ISSUE)
        self._release = self.red.register_script(RELEASE)

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def issue_and_check(self, conversation_id: str, lock_lifetime: float) -> List[int]:
        """Takes the next ticket atomically; [its number, the number being served now]."""
        try:
            number, serving = self._issue(
                keys=[self._key(conversation_id)],
                args=[repr(time.time()), repr(float(lock_lifetime)), conversation_id],
            )
        except Exception as e:  # as Rasa's issue_ticket reports any store failure
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e
        return [int(number), int(serving)]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issues a new ticket for `conversation_id` atomically (see the parent class)."""
        return self.issue_and_check(conversation_id, lock_lifetime)[0]

    def update_lock(self, conversation_id: str) -> None:
        """Drops the lock's expired tickets atomically (deleting it when none are left)."""
        self._release(
            keys=[self._key(conversation_id)], args=[repr(time.time()), conversation_id, ""]
        )

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Gives `ticket_number` back atomically; the lock goes when nobody else waits."""
        self._release(
            keys=[self._key(conversation_id)],
            args=[repr(time.time()), conversation_id, str(ticket_number)],
        )

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Gives the ticket back and deletes the lock if no one is waiting, in one step."""
        self.finish_serving(conversation_id, ticket_number)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's `lock`, skipping the first look-up when the new ticket is served at once."""
        ticket, serving = self.issue_and_check(conversation_id, lock_lifetime)
        try:
            if ticket == serving:
                yield self._served(conversation_id, ticket, lock_lifetime)
            else:
                yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    @staticmethod
    def _served(conversation_id: str, ticket: int, lifetime: float) -> TicketLock:
        """The lock as the holder of `ticket` saw it (what Rasa's `lock` yields)."""
        data = {"number": ticket, "expires": time.time() + lifetime}
        return TicketLock.from_dict(
            {"conversation_id": conversation_id, "tickets": [json.dumps(data)]}
        )
