"""rasa_patches.tracker_json: a stored tracker's JSON written faster, read back the same."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.tracker_store import InMemoryTrackerStore, SerializedTrackerAsText
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_patches import tracker_json

DOMAIN = Domain.from_dict(
    {"slots": {"service": {"type": "text", "mappings": [{"type": "custom"}]}}}
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, NaN equal to NaN and int distinct from float."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_written_text_reads_back_as_stdlib_text_does(value: Any) -> None:
    assert _same(json.loads(tracker_json.dumps(value)), json.loads(json.dumps(value)))


@pytest.fixture()
def patched() -> Iterator[None]:
    saved = SerializedTrackerAsText.__dict__["serialise_tracker"]
    tracker_json.apply()
    tracker_json.apply()  # idempotent
    yield
    SerializedTrackerAsText.serialise_tracker = saved


def _conversation() -> DialogueStateTracker:
    tracker = DialogueStateTracker("会话-1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(
        UserUttered(
            "帮我把腾讯视频的自动续费关了",
            {"name": "cancel_subscription", "confidence": 0.98765432123},
            entities=[{"entity": "service", "value": "腾讯视频VIP", "start": 3, "end": 7}],
        )
    )
    tracker.update(SlotSet("service", "腾讯视频VIP"))
    tracker.update(BotUttered("好的，请问您的手机号是？", {"buttons": [{"title": "取消"}]}))
    return tracker


def test_a_tracker_round_trips_through_the_in_memory_store(patched: None) -> None:
    store = InMemoryTrackerStore(DOMAIN)
    tracker = _conversation()
    asyncio.run(store.save(tracker))
    assert "\\u" not in store.store["会话-1"]  # written by orjson
    back = asyncio.run(store.retrieve("会话-1"))
    assert [e.as_dict() for e in back.events] == [e.as_dict() for e in tracker.events]
    assert back.get_slot("service") == "腾讯视频VIP"


def test_a_tracker_stored_by_stdlib_is_read(patched: None) -> None:
    store = InMemoryTrackerStore(DOMAIN)
    tracker = _conversation()
    store.store["会话-1"] = json.dumps(tracker.as_dialogue().as_dict())
    back = asyncio.run(store.retrieve("会话-1"))
    assert [e.as_dict() for e in back.events] == [e.as_dict() for e in tracker.events]
