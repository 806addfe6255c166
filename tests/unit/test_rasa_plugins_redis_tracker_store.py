"""rasa_plugins.redis_tracker_store: what Rasa's Redis store keeps, without reading it back."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

from rasa.core.tracker_store import RedisTrackerStore as RasaRedisTrackerStore
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from rasa_plugins.redis_tracker_store import RedisTrackerStore
from tests.unit.redis_fixtures import redis_host_port

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet"],
        "slots": {"service": {"type": "text", "mappings": [{"type": "custom"}]}},
    }
)
SENDER = "tracker-test"


def _stores(prefix: str) -> tuple:
    host, port = redis_host_port()
    ours = RedisTrackerStore(DOMAIN, host=host, port=port, key_prefix=prefix, record_exp=600)
    rasas = RasaRedisTrackerStore(
        DOMAIN, host=host, port=port, key_prefix=prefix + "r", record_exp=600
    )
    return ours, rasas


def _turn(n: int) -> List[Event]:
    """One user turn's events, each newer than the last."""
    return [
        UserUttered(f"第{n}句", {"name": "greet", "confidence": 1.0}),
        SlotSet("service", f"会员{n}"),
        ActionExecuted("utter_greet"),
        BotUttered(f"回答{n}"),
        ActionExecuted("action_listen"),
    ]


def _dicts(tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
    return [e.as_dict() for e in tracker.events]


async def _conversation(store: Any, turns: int) -> DialogueStateTracker:
    """What Rasa's processor does per message: get or create, add the turn's events, save."""
    for n in range(turns):
        tracker = await store.get_or_create_tracker(SENDER)
        for event in _turn(n):
            tracker.update(event)
        await store.save(tracker)
    return await store.retrieve(SENDER)


def test_a_conversation_is_kept_as_rasa_keeps_it_without_merging(redis_prefix: str) -> None:
    ours, rasas = _stores(redis_prefix)

    async def run() -> tuple:
        return await _conversation(ours, 4), await _conversation(rasas, 4)

    mine, theirs = asyncio.run(run())
    strip = [{k: v for k, v in d.items() if k != "timestamp"} for d in _dicts(mine)]
    assert strip == [{k: v for k, v in d.items() if k != "timestamp"} for d in _dicts(theirs)]
    assert len(mine.events) == 1 + 4 * 5  # action_listen from creation, then 4 turns
    assert ours.merged_saves == 0 and ours.fast_saves == 5  # creation + 4 turns
    ttl = ours.red.ttl(ours.key_prefix + SENDER)
    assert 590 <= ttl <= 600  # record_exp applied as Rasa does


def test_a_writer_in_between_is_merged_as_rasa_merges(redis_prefix: str) -> None:
    host, port = redis_host_port()
    first, _ = _stores(redis_prefix)
    second = RedisTrackerStore(DOMAIN, host=host, port=port, key_prefix=redis_prefix)

    async def run() -> DialogueStateTracker:
        await _conversation(first, 1)
        mine = await first.retrieve(SENDER)
        theirs = await second.retrieve(SENDER)
        theirs.update(UserUttered("另一个进程", {"name": "greet", "confidence": 1.0}))
        await second.save(theirs)  # written after `first` read the conversation
        mine.update(UserUttered("这个进程", {"name": "greet", "confidence": 1.0}))
        await first.save(mine)
        return await first.retrieve(SENDER)

    merged = asyncio.run(run())
    texts = [e.text for e in merged.events if isinstance(e, UserUttered)]
    assert texts == ["第0句", "另一个进程", "这个进程"]  # nothing lost
    assert first.merged_saves == 1


def test_earlier_sessions_are_kept_when_the_latest_is_saved(redis_prefix: str) -> None:
    ours, _ = _stores(redis_prefix)
    earlier = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        *_turn(0),
    ]

    async def run() -> tuple:
        await ours.save(DialogueStateTracker.from_events(SENDER, earlier, DOMAIN.slots))
        time.sleep(0.01)
        await ours.retrieve(SENDER)
        tracker = await ours.retrieve(SENDER)
        for event in [ActionExecuted("action_session_start"), SessionStarted()]:
            tracker.update(event)
        await ours.save(tracker)
        latest = await ours.retrieve(SENDER)  # the second session only
        latest.update(UserUttered("新会话", {"name": "greet", "confidence": 1.0}))
        await ours.save(latest)
        return latest, await ours.retrieve_full_tracker(SENDER)

    latest, full = asyncio.run(run())
    assert sum(isinstance(e, SessionStarted) for e in latest.events) == 1
    assert sum(isinstance(e, SessionStarted) for e in full.events) == 2
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["第0句", "新会话"]
    assert ours.merged_saves >= 1  # the latest session alone was read: Rasa's merge ran


def test_a_tracker_not_read_from_the_store_goes_through_rasas_merge(redis_prefix: str) -> None:
    ours, _ = _stores(redis_prefix)

    async def run() -> DialogueStateTracker:
        await _conversation(ours, 1)
        # Built from scratch (e.g. the HTTP API replacing events): not the objects read.
        replacement = DialogueStateTracker.from_events(SENDER, _turn(7), DOMAIN.slots)
        await ours.save(replacement)
        return await ours.retrieve(SENDER)

    after = asyncio.run(run())
    assert ours.merged_saves == 1
    assert [e.text for e in after.events if isinstance(e, UserUttered)] == ["第0句", "第7句"]


def test_an_event_older_than_the_stored_ones_goes_through_rasas_merge(redis_prefix: str) -> None:
    ours, _ = _stores(redis_prefix)

    async def run() -> DialogueStateTracker:
        await _conversation(ours, 1)
        tracker = await ours.retrieve(SENDER)
        tracker.update(UserUttered("旧时间", timestamp=1.0))
        await ours.save(tracker)
        return await ours.retrieve(SENDER)

    after = asyncio.run(run())
    assert ours.merged_saves == 1
    assert "旧时间" in [e.text for e in after.events if isinstance(e, UserUttered)]


def test_rasa_builds_it_from_endpoints(redis_prefix: str) -> None:
    host, port = redis_host_port()
    config = EndpointConfig(
        type="rasa_plugins.redis_tracker_store.RedisTrackerStore",
        url=host,
        port=port,
        key_prefix=redis_prefix,
    )
    store = create_tracker_store(config, DOMAIN)
    assert isinstance(store, RedisTrackerStore)
    asyncio.run(_conversation(store, 2))
    assert store.fast_saves == 3 and store.merged_saves == 0
