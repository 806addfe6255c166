"""Reading Rasa's SQL tracker store, read-only, without Rasa.

Rasa's SQLTrackerStore keeps every event in one table, `events` (id, sender_id, type_name,
timestamp as float epoch seconds, intent_name, action_name, data as JSON text); see also
core/store/tracker_retention.py, which prunes the same table. Any SQLAlchemy URL works
(sqlite:///path, postgresql://user@host/db, ...); a SQLite file is opened read-only, a
PostgreSQL session is set read-only, so collecting can never change the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from sqlalchemy import column, create_engine, inspect, select, table, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

EVENTS_TABLE = "events"
NEEDED_COLUMNS = ("id", "sender_id", "type_name", "timestamp", "data")
EVENTS = table(
    EVENTS_TABLE,
    *(column(name) for name in ("id", "sender_id", "type_name", "timestamp", "data")),
)
# Only these events say what was said and done; slots, forms and the rest are not read.
READ_TYPES = ("user", "bot", "action")
# A server that does not answer must not hang an operator's command for minutes.
CONNECT_TIMEOUT_SECONDS = 10


class InboxError(Exception):
    """An operator's error (a bad URL, no events table, an unfilled review file): the command
    prints the message and exits with status 2."""


@dataclass(frozen=True)
class StoredEvent:
    """One event of the tracker store."""

    conversation: str
    type_name: str
    timestamp: float
    data: Dict[str, Any]


def open_store(url: str) -> Engine:
    """A read-only engine on the tracker store at `url`; InboxError if it cannot be one."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InboxError(f"--db-url is not a database URL: {_shown(url)}") from exc
    backend = parsed.get_backend_name()
    kwargs: Dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database or ""
        # sqlite3 would create a missing file and find no events in it: say so instead.
        if not database or database == ":memory:" or not Path(database).is_file():
            raise InboxError(f"no SQLite tracker store at {database or '(no path)'}")
        # SQLite's own read-only mode: nothing this command does can write the file.
        uri = Path(database).resolve().as_uri()
        parsed = parsed.set(database=uri, query={"uri": "true", "mode": "ro"})
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    try:
        engine = create_engine(parsed, future=True, **kwargs)
    except (ArgumentError, ImportError, NoSuchModuleError) as exc:
        raise InboxError(f"no database driver for {backend}") from exc
    return engine


def _shown(url: str) -> str:
    """A URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not shown)"


def read_events(engine: Engine, since: Optional[float] = None) -> Iterator[StoredEvent]:
    """The user, bot and action events, conversation by conversation, in the order they
    happened; only conversations active at or after `since` (epoch seconds), whole."""
    query = (
        select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
        .where(EVENTS.c.type_name.in_(READ_TYPES))
        .order_by(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.id)
    )
    if since is not None:
        recent = select(EVENTS.c.sender_id).where(EVENTS.c.timestamp >= since)
        query = query.where(EVENTS.c.sender_id.in_(recent))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION READ ONLY"))
            _check_events_table(connection)
            rows = connection.execution_options(stream_results=True, yield_per=1000)
            for sender_id, type_name, timestamp, data in rows.execute(query):
                yield StoredEvent(sender_id, type_name, float(timestamp or 0), _json(data))
    except DBAPIError as exc:
        raise InboxError(
            f"the tracker store could not be read ({type(exc.orig).__name__}): "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
        ) from exc


def _check_events_table(connection: Any) -> None:
    inspector = inspect(connection)
    if inspector.has_table(EVENTS_TABLE):
        columns = {c["name"] for c in inspector.get_columns(EVENTS_TABLE)}
        if set(NEEDED_COLUMNS) <= columns:
            return
    raise InboxError(
        f"the database has no {EVENTS_TABLE!r} table with columns {', '.join(NEEDED_COLUMNS)}: "
        "it is not Rasa's SQL tracker store"
    )


def _json(data: Any) -> Dict[str, Any]:
    """An event's JSON data as a dict (empty if it is not one)."""
    if not data:
        return {}
    try:
        value = json.loads(data) if isinstance(data, (str, bytes)) else data
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
