"""Shared fixtures: the store's (tests/unit/store_fixtures.py), the runtime, trackers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker

from actions.runtime import Runtime, set_runtime
from core.sms.outbox import OutboxSmsGateway

pytest_plugins = [
    "tests.unit.store_fixtures",
    "tests.unit.redis_fixtures",
    "tests.e2e.bot",
]


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """The development SMS outbox of one test."""
    return tmp_path / "sms_outbox.jsonl"


@pytest.fixture
def runtime(service, settings, clock, outbox_path: Path) -> Iterator[Runtime]:
    """The actions' runtime on the seeded temporary store, installed for the test's duration."""
    rt = Runtime(
        settings=replace(settings, sms_outbox=outbox_path),
        store=service,
        sms=OutboxSmsGateway(outbox_path),
        clock=clock,
    )
    set_runtime(rt)
    yield rt
    set_runtime(None)


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    intent: Optional[str] = None,
    text: str = "",
    entities: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    sender_id: str = "test-user",
    channel: str = "rest",
) -> Tracker:
    """A rasa_sdk Tracker with the given slots and latest message."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
    }
    user_event = {
        "event": "user",
        "text": text,
        "parse_data": latest,
        "input_channel": channel,
    }
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}),
        latest_message=latest,
        events=list(events or []) + [user_event],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def entity(name: str, value: str) -> Dict[str, Any]:
    """One extracted entity as the NLU reports it."""
    return {"entity": name, "value": value}
