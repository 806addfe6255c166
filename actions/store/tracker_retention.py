"""Pruning Rasa's SQL tracker store: whole conversations whose last event is past a cutoff.

Rasa's SQLTrackerStore keeps every event of every conversation in one table, `events`
(sender_id, type_name, timestamp as float epoch seconds, intent_name, action_name, data as
JSON text). `data` holds what the user typed, phone numbers and codes included, so this is
the conversation data that matters most. A conversation goes only as a whole, and only when
its newest event is older than the cutoff: an active conversation is never cut.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from sqlalchemy import column, create_engine, delete, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from actions.store.errors import TrackerStoreError

EVENTS_TABLE = "events"
EVENTS = table(EVENTS_TABLE, column("sender_id"), column("timestamp"))
# A PostgreSQL server that does not answer must not hang a nightly job for minutes.
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class TrackerPrune:
    """How many conversations, and events in them, were (or would be) deleted."""

    conversations: int
    events: int


def tracker_engine(url: str) -> Engine:
    """An engine on the tracker store at `url`; TrackerStoreError if the URL cannot be one."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise TrackerStoreError("TRACKER_STORE_URL is not a database URL") from exc
    backend = parsed.get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite":
        database = parsed.database or ""
        # sqlite3 would create a missing file and then find no events in it: say so instead.
        if not database or database == ":memory:" or not Path(database).is_file():
            raise TrackerStoreError("TRACKER_STORE_URL names no existing SQLite file")
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    try:
        return create_engine(parsed, future=True, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise TrackerStoreError(f"no database driver for TRACKER_STORE_URL ({backend})") from exc


@contextmanager
def tracker_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on the tracker store; an outage becomes TrackerStoreError."""
    try:
        with engine.begin() as connection:
            _check_events_table(connection)
            yield connection
    except (OperationalError, InterfaceError) as exc:
        raise TrackerStoreError("the tracker store database is unavailable") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise TrackerStoreError("the tracker store connection was lost") from exc
        # A missing privilege or a different `events` table: the operator's to fix.
        raise TrackerStoreError(
            f"the tracker store refused the clean-up ({type(exc.orig).__name__})"
        ) from exc


def _check_events_table(connection: Connection) -> None:
    inspector = inspect(connection)
    if inspector.has_table(EVENTS_TABLE):
        columns = {c["name"] for c in inspector.get_columns(EVENTS_TABLE)}
        if {"sender_id", "timestamp"} <= columns:
            return
    raise TrackerStoreError(
        f"the tracker store has no {EVENTS_TABLE!r} table with sender_id and timestamp: "
        "not Rasa's SQLTrackerStore"
    )


def prune_tracker(connection: Connection, cutoff: datetime, dry_run: bool) -> TrackerPrune:
    """Deletes every conversation whose newest event is older than `cutoff` (or counts them)."""
    stale = (
        select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(func.max(EVENTS.c.timestamp) < cutoff.timestamp())
    )
    conversations = connection.execute(
        select(func.count()).select_from(stale.subquery())
    ).scalar_one()
    if dry_run:
        events = connection.execute(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id.in_(stale))
        ).scalar_one()
        return TrackerPrune(conversations, events)
    # One statement on one snapshot: an event written meanwhile is not seen, so not deleted.
    events = connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(stale))).rowcount
    return TrackerPrune(conversations, events)
