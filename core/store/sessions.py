"""Verified sessions: which phone the user of a conversation proved, for as long as it is used.

A session is a row of `verified_sessions`, keyed by the (namespaced) conversation id. It is
opened only by the store itself: in the transaction of a code it checked (verification.py),
or from a channel assertion it verified that proves the phone (an SMS sender). It ends
after VERIFIED_IDLE_SECONDS without use, when the user restarts or changes number. Actions
read the phone from here; nothing in a tracker (slots, metadata, channel) counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, delete, insert, select, update

from core.identity import assertion as assertions
from core.identity.conversation import channel_of
from core.statuses import SessionMethod
from core.store.context import StoreContext, audit
from core.store.db import Executor
from core.store.models import VerifiedSession
from core.store.privacy import StoredPhone, normalize_phone, phone_from_store, stored_phone

_sessions = VerifiedSession.__table__
# A use refreshes the session only when its last refresh is at least this old (capped at a
# tenth of the idle time): every action call of a turn reads the session, and a write each
# time would cost a commit (an fsync on SQLite) per call. The session may so end up to this
# much earlier than VERIFIED_IDLE_SECONDS after the very last use, never later.
TOUCH_AFTER = timedelta(seconds=30)

_SESSION = (
    select(
        _sessions.c.id,
        _sessions.c.phone_ciphertext,
        _sessions.c.phone_index,
        _sessions.c.last_seen_at,
    )
    .where(_sessions.c.conversation_id == bindparam("conversation_id"))
    .with_for_update()
)
_TOUCH = update(_sessions).where(_sessions.c.id == bindparam("session_id"))
_DELETE = delete(_sessions).where(_sessions.c.conversation_id == bindparam("conversation_id"))
_INSERT = insert(_sessions)


def open_session(
    session: Executor,
    *,
    conversation_id: str,
    stored: StoredPhone,
    method: str,
    now: datetime,
) -> bool:
    """Records, inside the caller's transaction, that this conversation proved the phone.

    Only verification.check_code (a code it found correct) and open_from_assertion call it.
    A session of the same phone is refreshed; one of another number is replaced. True when
    a session was opened (not just refreshed).
    """
    row = session.execute(_SESSION, {"conversation_id": conversation_id}).one_or_none()
    if row is not None and row.phone_index == stored.index:
        session.execute(_TOUCH, {"session_id": row.id, "last_seen_at": now})
        return False
    session.execute(_DELETE, {"conversation_id": conversation_id})
    session.execute(
        _INSERT,
        {
            **stored.columns(),
            "conversation_id": conversation_id,
            "channel": channel_of(conversation_id),
            "method": method,
            "created_at": now,
            "last_seen_at": now,
        },
    )
    return True


def open_from_assertion(ctx: StoreContext, conversation_id: str, token: object) -> Optional[str]:
    """The phone a genuine, fresh assertion for this conversation proves; opens its session.

    None (and nothing recorded) for a forged, stale or foreign assertion, or one whose source
    only names a number (an IVR caller id: a code is still needed).
    """
    now = ctx.now()
    try:
        verified = assertions.verify(
            ctx.settings.channel_assertion_key,
            token,
            conversation_id=conversation_id,
            now=now.timestamp(),
        )
        phone = normalize_phone(verified.phone)
    except (assertions.InvalidAssertion, ValueError):
        return None
    if not verified.proves_phone:
        return None
    stored = stored_phone(ctx.phones, phone)
    with ctx.core_transaction() as session:
        # Every SMS turn carries a new assertion: only a session newly opened is audited.
        opened = open_session(
            session,
            conversation_id=conversation_id,
            stored=stored,
            method=SessionMethod.ASSERTION,
            now=now,
        )
        if not opened:
            return phone
        audit(
            session,
            at=now,
            action="session_opened",
            conversation_id=conversation_id,
            channel=verified.channel,
            phone=phone,
            detail={"method": "assertion", "source": verified.source},
        )
    return phone


def session_phone(ctx: StoreContext, conversation_id: str) -> Optional[str]:
    """The phone proved in this conversation if its session is fresh; the use refreshes it.

    A session idle longer than verified_idle_seconds is ended and None returned. The refresh
    is written only when the last one is TOUCH_AFTER old (see there).
    """
    now = ctx.now()
    idle = timedelta(seconds=ctx.settings.verified_idle_seconds)
    with ctx.core_transaction() as session:
        row = session.execute(_SESSION, {"conversation_id": conversation_id}).one_or_none()
        if row is None:
            return None
        if row.last_seen_at + idle < now:
            session.execute(_DELETE, {"conversation_id": conversation_id})
            audit(
                session,
                at=now,
                action="session_expired",
                conversation_id=conversation_id,
                channel=channel_of(conversation_id),
            )
            return None
        if now - row.last_seen_at >= min(TOUCH_AFTER, idle / 10):
            session.execute(_TOUCH, {"session_id": row.id, "last_seen_at": now})
        token = row.phone_ciphertext
    return phone_from_store(ctx.phones, token)


def end_session(ctx: StoreContext, conversation_id: str, reason: str) -> bool:
    """Ends this conversation's session (restart, another number); False if there was none."""
    now = ctx.now()
    with ctx.core_transaction() as session:
        ended = session.execute(_DELETE, {"conversation_id": conversation_id}).rowcount > 0
        if ended:
            audit(
                session,
                at=now,
                action="session_ended",
                conversation_id=conversation_id,
                channel=channel_of(conversation_id),
                detail={"reason": reason},
            )
    return ended
