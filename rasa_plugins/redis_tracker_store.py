"""Rasa's Redis tracker store, saving a turn in one compare-and-set instead of read-and-merge.

endpoints.yml (inside the redacting wrapper's `store:`, with Rasa's own Redis options):

    store:
      type: rasa_plugins.redis_tracker_store.RedisTrackerStore
      url: localhost
      ...

What is wrong upstream: Rasa 3.6's `RedisTrackerStore.save` reads the stored conversation back
on every save, replays it into a tracker and merges it with the one being saved (an
all-pairs `as_dict` comparison of events), then writes: one more round trip, and in a profile
of two Sanic workers under load about 13 % of a worker's time, growing with the length of the
conversation. The read is there because `retrieve` hands back only the latest session of a
conversation (the merge puts the earlier ones back) and so that a concurrent writer is not
lost; its GET-then-SET is not atomic either.

The fix: `retrieve` remembers, per conversation, the SHA-1 of the text it read and the events
it handed back, when it handed back the whole conversation. `save` then writes in one Lua
script that sets the key only if it still holds that exact text. Rasa's merge gives back the
tracker being saved unchanged when (a) the stored events are a prefix of it, which holds when
its first events are the very objects read (Rasa never changes an event in place) and (b)
every later event is newer than the last stored one. When any of that is not known to hold
(several sessions, a tracker built elsewhere, another process wrote in between, an event with
an older timestamp), Rasa's own read-and-merge save runs, unchanged. How to tell it is still
needed: `RedisTrackerStore.save` in Rasa still calls `red.get` and `_merge_trackers`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Optional, Sequence, Tuple

from rasa.core.tracker_store import RedisTrackerStore as RasaRedisTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)

from rasa_patches.guard import require_upstream

# What the fast save relies on: Rasa's save, read and merge, and the stored format. If any of it
# changes upstream the store refuses to start rather than risk losing events.
WRITTEN_FOR = {"rasa": "3.6.21"}
UPSTREAM = {
    "rasa.core.tracker_store:RedisTrackerStore": "f531808b909af9d9",
    "rasa.core.tracker_store:SerializedTrackerAsText": "0e7e888e0a55ffcc",
    "rasa.core.tracker_store:TrackerStore.stream_events": "efd3615f5340218a",
    "rasa.shared.core.trackers:get_trackers_for_conversation_sessions": "95313db4e1291bcb",
}

# KEYS[1] the conversation's key; ARGV: SHA-1 of the text expected there ("" = no key),
# the new text, its lifetime in seconds ("" = none). 1 if written, 0 if the key had changed.
COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
local digest = ''
if current then digest = redis.sha1hex(current) end
if digest ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""
# Conversations whose last read is remembered per process; the oldest is forgotten first
# (its next save then takes Rasa's path, which is still correct).
MAX_REMEMBERED = 10_000
_ABSENT = ""


def digest(text: Optional[str]) -> str:
    """The SHA-1 Redis computes of a stored text (UTF-8), or "" for no key."""
    return _ABSENT if text is None else hashlib.sha1(text.encode("utf-8")).hexdigest()


class RedisTrackerStore(RasaRedisTrackerStore):
    """`rasa.core.tracker_store.RedisTrackerStore` with an atomic, merge-free save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        require_upstream("rasa_plugins.redis_tracker_store", WRITTEN_FOR, UPSTREAM)
        super().__init__(*args, **kwargs)
        self._read: OrderedDict[str, Tuple[str, Tuple[Event, ...]]] = OrderedDict()
        self._compare_and_set = self.red.register_script(COMPARE_AND_SET)
        self.fast_saves = 0
        self.merged_saves = 0

    def _remember(self, sender_id: str, text: Optional[str], events: Sequence[Event]) -> None:
        self._read[sender_id] = (digest(text), tuple(events))
        self._read.move_to_end(sender_id)
        while len(self._read) > MAX_REMEMBERED:
            self._read.popitem(last=False)

    async def _retrieve(
        self, sender_id: str, fetch_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's `_retrieve`, remembering what was read when it hands back all of it."""
        stored = self.red.get(self.key_prefix + sender_id)
        if stored is None:
            self._remember(sender_id, None, ())
            return None
        tracker = self.deserialise_tracker(sender_id, stored)
        if tracker is None:
            self._read.pop(sender_id, None)
            return None
        sessions = (
            [tracker] if fetch_all_sessions else get_trackers_for_conversation_sessions(tracker)
        )
        if len(sessions) <= 1:
            self._remember(sender_id, stored, tracker.events)
            return tracker
        self._read.pop(sender_id, None)  # only the latest session goes back: Rasa must merge
        return sessions[-1]

    def _unchanged_by_merge(self, tracker: DialogueStateTracker) -> Optional[str]:
        """The digest to compare against when Rasa's merge would give back `tracker` as is."""
        known = self._read.get(tracker.sender_id)
        if known is None:
            return None
        expected, read = known
        events = list(tracker.events)
        if len(events) < len(read) or any(a is not b for a, b in zip(read, events, strict=False)):
            return None
        if read and any(e.timestamp <= read[-1].timestamp for e in events[len(read) :]):
            return None  # Rasa's travel back in time would cut elsewhere: let it merge
        return expected

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Saves the conversation: one compare-and-set, or Rasa's read-and-merge save."""
        expected = self._unchanged_by_merge(tracker)
        if expected is None:
            self.merged_saves += 1
            await super().save(tracker, timeout)
            self._read.pop(tracker.sender_id, None)
            return
        await self.stream_events(tracker)
        if not timeout and self.record_exp:
            timeout = self.record_exp
        text = self.serialise_tracker(tracker)
        key = self.key_prefix + tracker.sender_id
        lifetime = "" if not timeout else str(int(timeout))
        if self._compare_and_set(keys=[key], args=[expected, text, lifetime]):
            self.fast_saves += 1
            self._remember(tracker.sender_id, text, tracker.events)
            return
        # Someone else wrote in between: Rasa's path reads it and merges (events already
        # streamed, so only the store part of Rasa's save is repeated here).
        self.merged_saves += 1
        self._read.pop(tracker.sender_id, None)
        stored = self.red.get(key)
        if stored is not None:
            tracker = self._merge_trackers(
                self.deserialise_tracker(tracker.sender_id, stored), tracker
            )
        self.red.set(key, self.serialise_tracker(tracker), ex=int(timeout) if timeout else None)
