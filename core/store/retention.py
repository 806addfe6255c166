"""Deleting conversation data once its retention time is over; business records stay.

python -m core.store.retention [--dry-run] [--now ISO] [--url URL]
                                  [--tracker-url URL | --endpoints endpoints.yml]

What goes (times from the settings, see docs/retention.md): verification challenges,
expired locks, verified sessions unused and numbers given to a conversation for
CODE_RETENTION_HOURS, the SMS log after
SMS_LOG_RETENTION_DAYS, handoff summaries after HANDOFF_SUMMARY_RETENTION_DAYS (the ticket
and its reference stay), and whole conversations in Rasa's SQL tracker store (the one
--endpoints configures, else --tracker-url / TRACKER_STORE_URL) after
CONVERSATION_RETENTION_DAYS. Accounts, subscriptions, charges, cancellations, refund cases
and the audit log are business records and are not touched. Each run writes one audit row.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from core.settings import Settings
from core.store.db import SessionFactory, make_engine, make_session_factory, upgrade_schema
from core.store.errors import PhoneKeyError, StoreUnavailable, TrackerStoreError
from core.store.retention_policy import (
    RetentionPolicy,
    RetentionReport,
    purge_store,
    run_retention,
)
from core.store.tracker_retention import (
    CONNECT_TIMEOUT_SECONDS,
    tracker_engine,
    tracker_url_from_endpoints,
)

__all__ = ["RetentionPolicy", "RetentionReport", "main", "purge_store", "run_retention"]


# Operator messages, Chinese first, for the people who schedule and watch the job.
_FAILURES = {
    "settings": ("配置无效", "invalid settings"),
    "now": (
        "--now 不是带时区的 ISO 时间，例如 2026-11-24T10:00:00+08:00",
        "--now is not an ISO " "time with a time zone, e.g. 2026-11-24T10:00:00+08:00",
    ),
    "store_url": ("业务数据库地址（STORE_URL / --url）无效", "the store URL is not a database URL"),
    "store_missing": ("找不到业务数据库文件", "the store's SQLite file does not exist"),
    "store_down": ("无法连接业务数据库", "the store database is unavailable"),
    "tracker": (
        "对话记录库（TRACKER_STORE_URL / --endpoints）不可用",
        "the tracker store cannot be used",
    ),
}


def _fail(kind: str, detail: str = "") -> int:
    chinese, english = _FAILURES[kind]
    suffix = f": {detail}" if detail else ""
    print(
        f"数据清理失败：{chinese}，未删除任何数据。\n"
        f"retention failed: {english}{suffix}; nothing was deleted.",
        file=sys.stderr,
    )
    return 2


def _parse_now(raw: Optional[str]) -> Optional[datetime]:
    if raw is None:
        return datetime.now(timezone.utc)
    try:
        # Python 3.10's fromisoformat does not take the common "Z" suffix.
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        return None
    return parsed.astimezone(timezone.utc)


def store_engine(url: str) -> Engine:
    """An engine on the store at `url`; FileNotFoundError for a missing SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        # make_engine would create an empty store, and the run would find nothing to delete.
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        if on_disk and not Path(database).is_file():
            raise FileNotFoundError(database)
        return make_engine(url)
    if parsed.get_backend_name() == "postgresql":
        return make_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    return make_engine(url)


def tracker_store_url(
    given: Optional[str], endpoints: Optional[str], settings: Settings
) -> Optional[str]:
    """The tracker store to clean: --tracker-url, else the endpoints file's, else
    TRACKER_STORE_URL; None when there is none (in memory). TrackerStoreError if unusable."""
    if given:
        return given
    if endpoints:
        return tracker_url_from_endpoints(endpoints)
    return settings.tracker_store_url


# What opened_stores can raise, for an operator command's one `except`.
OPEN_FAILURES = (
    ArgumentError,
    FileNotFoundError,
    StoreUnavailable,
    PhoneKeyError,
    TrackerStoreError,
)


def open_failure(exc: BaseException) -> Tuple[str, str]:
    """The failure kind (store_url, store_missing, store_down, settings, tracker) and detail of
    an exception opened_stores raised, as both operator commands report it."""
    if isinstance(exc, ArgumentError):
        return "store_url", ""
    if isinstance(exc, FileNotFoundError):
        return "store_missing", ""
    if isinstance(exc, StoreUnavailable):
        return "store_down", ""
    if isinstance(exc, PhoneKeyError):
        # Only when the schema upgrade had plain phones to encrypt and no usable key.
        return "settings", str(exc)
    return "tracker", str(exc)


@contextmanager
def opened_stores(
    store_url: str, tracker_url: Optional[str], endpoints: Optional[str], settings: Settings
) -> Iterator[Tuple[SessionFactory, Optional[Engine]]]:
    """The store (schema brought up to date) and Rasa's tracker store, if one is named, for an
    operator command; both engines disposed of afterwards.

    Raises what store_engine, tracker_store_url and upgrade_schema raise: ArgumentError,
    FileNotFoundError, TrackerStoreError, StoreUnavailable, PhoneKeyError.
    """
    engine = store_engine(store_url)
    tracker = None
    try:
        url = tracker_store_url(tracker_url, endpoints, settings)
        tracker = tracker_engine(url) if url else None
        upgrade_schema(engine)
        yield make_session_factory(engine), tracker
    finally:
        engine.dispose()
        if tracker is not None:
            tracker.dispose()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: deletes conversation data past its retention time; 0 done, 2 failed."""
    parser = argparse.ArgumentParser(
        prog="python -m core.store.retention",
        description="Delete verification codes, the SMS log, handoff summaries and Rasa "
        "conversations older than their retention times (see docs/retention.md).",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    parser.add_argument("--now", help="ISO time with zone to measure from (default: now)")
    parser.add_argument("--url", help="store URL (default: STORE_URL or the SQLite file)")
    trackers = parser.add_mutually_exclusive_group()
    trackers.add_argument("--tracker-url", help="Rasa SQL tracker store URL (TRACKER_STORE_URL)")
    trackers.add_argument(
        "--endpoints",
        help="the endpoints.yml Rasa runs with: its tracker_store is the one pruned "
        "(${VAR} expanded from the environment)",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        policy = RetentionPolicy.from_settings(settings)
    except ValueError as exc:
        return _fail("settings", str(exc))
    now = _parse_now(args.now)
    if now is None:
        return _fail("now")
    url = args.url or settings.store_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        with opened_stores(url, args.tracker_url, args.endpoints, settings) as (factory, tracker):
            report = run_retention(factory, policy, now, dry_run=args.dry_run, tracker=tracker)
    except OPEN_FAILURES as exc:
        return _fail(*open_failure(exc))
    mode = "dry run, nothing deleted" if report.dry_run else "done"
    print(f"retention on {shown} as of {now.isoformat(timespec='seconds')} ({mode}):")
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
