"""Retention of the store's conversation data: the policy, the clean-up and one run of it.

The command line is core/store/retention.py; docs/retention.md says what is kept how long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store.context import audit, operator_name
from core.store.db import SessionFactory, unit_of_work
from core.store.errors import InvalidArgument, TrackerStoreError
from core.store.models import (
    ConversationPhone,
    HandoffTicket,
    SmsMessage,
    VerificationChallenge,
    VerificationLock,
    VerifiedSession,
)
from core.store.tracker_retention import TrackerPrune, prune_tracker, tracker_transaction

# A challenge younger than an hour still counts towards the resend limits and carries its
# wrong attempts over to a resend (verification.py); a verified conversation also reads its
# phone back from its challenge or the number it was given (conversation_phone). Codes and
# given numbers are kept at least that long.
MIN_CODE_RETENTION = timedelta(hours=1)

# The order of the summary; each entry: (count key, what happens, what the cutoff is).
_LINES = (
    ("verification_challenges", "delete", "created before"),
    ("verification_locks", "delete", "locked until before"),
    ("verified_sessions", "delete", "last used before"),
    ("conversation_phones", "delete", "given before"),
    ("sms_messages", "delete", "created before"),
    ("handoff_summaries", "clear", "tickets opened before"),
    ("tracker_conversations", "delete", "last event before"),
    ("tracker_events", "delete", "in those conversations"),
)
# Which cutoff each count is measured against.
_CUTOFF_OF = {
    "verification_challenges": "codes",
    "verification_locks": "codes",
    "verified_sessions": "codes",
    "conversation_phones": "codes",
    "sms_messages": "sms_log",
    "handoff_summaries": "handoff_summaries",
    "tracker_conversations": "conversations",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of conversation data is kept."""

    codes: timedelta
    sms_log: timedelta
    handoff_summaries: timedelta
    conversations: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy of the settings; InvalidArgument names a setting that cannot be used."""
        for name in (
            "code_retention_hours",
            "sms_log_retention_days",
            "handoff_summary_retention_days",
            "conversation_retention_days",
        ):
            if getattr(settings, name) <= 0:
                raise InvalidArgument(f"{name.upper()} must be a positive whole number")
        codes = timedelta(hours=settings.code_retention_hours)
        in_use = max(settings.code_ttl_seconds, settings.verified_idle_seconds)
        if codes < max(MIN_CODE_RETENTION, timedelta(seconds=in_use)):
            raise InvalidArgument(
                "CODE_RETENTION_HOURS must cover the last hour (resend limits), "
                "CODE_TTL_SECONDS and VERIFIED_IDLE_SECONDS"
            )
        return cls(
            codes=codes,
            sms_log=timedelta(days=settings.sms_log_retention_days),
            handoff_summaries=timedelta(days=settings.handoff_summary_retention_days),
            conversations=timedelta(days=settings.conversation_retention_days),
        )

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """For each kind, the moment before which its rows go."""
        return {
            "codes": now - self.codes,
            "sms_log": now - self.sms_log,
            "handoff_summaries": now - self.handoff_summaries,
            "conversations": now - self.conversations,
        }


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted (or, in a dry run, would delete); no personal data."""

    now: datetime
    dry_run: bool
    cutoffs: dict[str, datetime]
    counts: dict[str, int]
    tracker_configured: bool

    def lines(self) -> list[str]:
        """The summary an operator reads, one line per table."""
        lines = []
        for key, verb, relation in _LINES:
            if key not in self.counts:
                continue
            cutoff = self.cutoffs.get(_CUTOFF_OF.get(key, ""))
            when = f" {cutoff.isoformat(timespec='seconds')}" if cutoff else ""
            done = f"to {verb}" if self.dry_run else f"{verb.rstrip('e')}ed"
            lines.append(f"  {key:<24}{self.counts[key]:>7} {done} ({relation}{when})")
        if not self.tracker_configured:
            lines.append("  tracker store: not configured (TRACKER_STORE_URL unset), skipped")
        return lines


def purge_store(session: Session, cutoffs: dict[str, datetime], dry_run: bool) -> dict[str, int]:
    """Deletes (or counts) the store's conversation data older than its cutoff."""
    challenges = VerificationChallenge.__table__
    locks = VerificationLock.__table__
    sessions = VerifiedSession.__table__
    given = ConversationPhone.__table__
    sms = SmsMessage.__table__
    tickets = HandoffTicket.__table__
    # Core statements on the tables: no ORM objects are loaded, so none can go stale.
    targets = {
        "verification_challenges": (challenges, challenges.c.created_at < cutoffs["codes"]),
        # Only locks long over: a lock still in force is never lifted by the clean-up.
        "verification_locks": (locks, locks.c.locked_until < cutoffs["codes"]),
        # A session idle that long has ended (VERIFIED_IDLE_SECONDS is shorter): its
        # encrypted phone goes.
        "verified_sessions": (sessions, sessions.c.last_seen_at < cutoffs["codes"]),
        # A number given that long ago: as old as the codes it was for, it goes with them.
        "conversation_phones": (given, given.c.given_at < cutoffs["codes"]),
        "sms_messages": (sms, sms.c.created_at < cutoffs["sms_log"]),
    }
    counts = {}
    for key, (target, older) in targets.items():
        if dry_run:
            counts[key] = session.execute(
                select(func.count()).select_from(target).where(older)
            ).scalar_one()
        else:
            counts[key] = session.execute(delete(target).where(older)).rowcount
    # The ticket and its reference are the operator's record; the summary is the conversation.
    stale_summary = (tickets.c.created_at < cutoffs["handoff_summaries"]) & (
        tickets.c.summary != ""
    )
    if dry_run:
        counts["handoff_summaries"] = session.execute(
            select(func.count()).select_from(tickets).where(stale_summary)
        ).scalar_one()
    else:
        counts["handoff_summaries"] = session.execute(
            update(tickets).where(stale_summary).values(summary="")
        ).rowcount
    return counts


def run_retention(
    store: SessionFactory,
    policy: RetentionPolicy,
    now: datetime,
    *,
    dry_run: bool = False,
    tracker: Optional[Engine] = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> RetentionReport:
    """One run: the store in one transaction, the tracker store in another nested inside it.

    The tracker store commits first, then the store with the run's audit row; if anything
    fails before that, neither has deleted anything, and a `retention_failed` row is written
    when the store can still be reached.
    """
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("now must be timezone-aware")
    cutoffs = policy.cutoffs(now)
    try:
        with unit_of_work(store) as session:
            counts = purge_store(session, cutoffs, dry_run)
            if tracker is not None:
                with tracker_transaction(tracker) as connection:
                    pruned: TrackerPrune = prune_tracker(
                        connection, cutoffs["conversations"], dry_run
                    )
                counts["tracker_conversations"] = pruned.conversations
                counts["tracker_events"] = pruned.events
            audit(
                session,
                at=clock(),
                action="retention_dry_run" if dry_run else "retention_run",
                channel="cli",
                detail={
                    "operator": operator_name(),
                    "now": now.isoformat(),
                    "tracker_store": tracker is not None,
                    "counts": counts,
                },
            )
    except TrackerStoreError as exc:
        _audit_failure(store, clock(), now, dry_run, type(exc).__name__)
        raise
    return RetentionReport(now, dry_run, cutoffs, counts, tracker is not None)


def _audit_failure(
    store: SessionFactory, at: datetime, now: datetime, dry_run: bool, error: str
) -> None:
    # The store itself answered (only the tracker store failed): the failure goes on record.
    with unit_of_work(store) as session:
        audit(
            session,
            at=at,
            action="retention_failed",
            channel="cli",
            detail={
                "operator": operator_name(),
                "now": now.isoformat(),
                "dry_run": dry_run,
                "error": error,
            },
        )
