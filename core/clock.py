"""The wall clock every part of the project reads (the store, the actions, the SMS outbox)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)
