"""Pruning Rasa's SQL tracker store: whole conversations whose last event is past a cutoff.

Rasa's SQLTrackerStore keeps every event of every conversation in one table, `events`
(sender_id, type_name, timestamp as float epoch seconds, intent_name, action_name, data as
JSON text). `data` holds what the user typed, phone numbers and codes included, so this is
the conversation data that matters most. A conversation goes only as a whole, and only when
its newest event is older than the cutoff: an active conversation is never cut.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union
from urllib.parse import urlsplit

from sqlalchemy import column, create_engine, delete, func, inspect, select, table
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from core.store.errors import TrackerStoreError

EVENTS_TABLE = "events"
EVENTS = table(EVENTS_TABLE, column("sender_id"), column("timestamp"))
EVENTS_WITH_DATA = table(EVENTS_TABLE, column("id"), column("sender_id"), column("data"))
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


def delete_conversations(
    connection: Connection, conversation_ids: Iterable[str], dry_run: bool
) -> TrackerPrune:
    """Deletes (or counts) every event of the named conversations, whatever their age."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return TrackerPrune(0, 0)
    held = EVENTS.c.sender_id.in_(ids)
    conversations = connection.execute(
        select(func.count(func.distinct(EVENTS.c.sender_id))).where(held)
    ).scalar_one()
    if dry_run:
        events = connection.execute(select(func.count()).select_from(EVENTS).where(held))
        return TrackerPrune(conversations, events.scalar_one())
    return TrackerPrune(conversations, connection.execute(delete(EVENTS).where(held)).rowcount)


def conversation_events(
    connection: Connection, conversation_ids: Iterable[str]
) -> Dict[str, List[Any]]:
    """The stored events (Rasa's JSON, already redacted) of each named conversation."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return {}
    rows = connection.execute(
        select(EVENTS_WITH_DATA.c.sender_id, EVENTS_WITH_DATA.c.data)
        .where(EVENTS_WITH_DATA.c.sender_id.in_(ids))
        .order_by(EVENTS_WITH_DATA.c.sender_id, EVENTS_WITH_DATA.c.id)
    )
    found: Dict[str, List[Any]] = {}
    for sender_id, data in rows:
        found.setdefault(sender_id, []).append(json.loads(data) if data else None)
    return found


# The tracker store types whose events live in one SQL `events` table.
SQL_TRACKER_TYPES = frozenset({"sql", "rasa.core.tracker_store.SQLTrackerStore"})
# Wrappers that name the real store under `store` (redaction/tracker_store.py).
WRAPPER_TYPES = frozenset({"redaction.tracker_store.RedactingTrackerStore"})


def tracker_url_from_endpoints(
    path: Union[str, Path], env: Optional[Mapping[str, str]] = None
) -> Optional[str]:
    """The URL of the SQL tracker store an endpoints.yml configures, or None (in memory).

    `${VAR}` in the tracker_store section is expanded from the environment as `rasa run`
    does (an unset variable is an error; the other sections are not read, so their
    variables need not be set); the redacting wrapper is looked through to the store it
    wraps. Any other tracker store (Redis, MongoDB, DynamoDB) is a TrackerStoreError: only
    Rasa's SQL one can be pruned here.
    """
    import yaml

    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise TrackerStoreError(f"no endpoints file at {path}") from exc
    except yaml.YAMLError as exc:
        raise TrackerStoreError(f"{path} is not YAML: {exc}") from exc
    settings = content.get("tracker_store") if isinstance(content, dict) else None
    while isinstance(settings, dict) and settings.get("type") in WRAPPER_TYPES:
        settings = settings.get("store")
    if not settings:
        return None
    if not isinstance(settings, dict):
        raise TrackerStoreError(f"{path}: tracker_store is not a mapping")
    settings = _expanded(settings, os.environ if env is None else env, path)
    kind = settings.get("type")
    if kind in (None, "in_memory"):
        return None
    if kind not in SQL_TRACKER_TYPES:
        raise TrackerStoreError(f"{path}: tracker store type {kind!r} is not Rasa's SQL store")
    port = settings.get("port")
    return _db_url(
        dialect=settings.get("dialect") or "sqlite",
        host=settings.get("url") or None,
        port=int(port) if port not in (None, "") else None,
        db=settings.get("db") or "rasa.db",
        username=settings.get("username") or None,
        password=settings.get("password") or None,
        query={k: v for k, v in (settings.get("query") or {}).items() if v not in (None, "")},
    )


def _db_url(
    dialect: str,
    host: Optional[str],
    port: Optional[int],
    db: str,
    username: Optional[str],
    password: Optional[str],
    query: Mapping[str, Any],
) -> str:
    """The URL Rasa's SQLTrackerStore connects to for these settings (its get_db_url, read
    in Rasa 3.6.21: a host holding "://" is the whole URL; a host may carry its port)."""
    if host and "://" in host:
        return host
    if host:
        parsed = urlsplit(f"scheme://{host}")
        port = parsed.port or port
        host = parsed.hostname or host
    url = URL.create(
        dialect, username, password, host, port, database=db, query=dict(query)
    )
    return url.render_as_string(hide_password=False)


_ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def _expanded(value: Any, env: Mapping[str, str], path: Union[str, Path]) -> Any:
    """`value` with every ${VAR} in its strings replaced from `env`; unset is an error."""
    if isinstance(value, dict):
        return {key: _expanded(item, env, path) for key, item in value.items()}
    if isinstance(value, list):
        return [_expanded(item, env, path) for item in value]
    if not isinstance(value, str):
        return value
    missing = [name for name in _ENV_REFERENCE.findall(value) if name not in env]
    if missing:
        raise TrackerStoreError(f"{path}: set {', '.join(missing)} (used by tracker_store)")
    return _ENV_REFERENCE.sub(lambda m: env[m.group(1)], value)
