"""SMS verification codes: issuing, checking, resend limits and lockout.

Nothing here looks at accounts, so a number without an account behaves exactly like one
with an account: the answers cannot be used to find out who is a customer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Row

from actions.settings import Settings
from actions.store.context import StoreContext, audit
from actions.store.db import Executor
from actions.store.models import VerificationChallenge, VerificationLock
from actions.store.privacy import StoredPhone, normalize_phone, phone_from_store, stored_phone
from actions.store.views import CodeCheck, CodeIssue

CODE_DIGITS = 6
_CODE = re.compile(r"\d{6}")
_HOUR = timedelta(hours=1)
# The audit action of each answer of check_code.
_CHECK_ACTIONS = {
    "ok": "code_verified",
    "wrong": "code_wrong",
    "locked": "code_locked",
    "expired": "code_expired",
    "no_code": "code_missing",
}


def code_hash(settings: Settings, phone: str, code: str) -> str:
    """HMAC-SHA256 of phone and code, keyed so a leaked table does not give the codes away."""
    message = f"{phone}:{code}".encode()
    return hmac.new(settings.verification_hash_key.encode(), message, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


_challenges = VerificationChallenge.__table__
_locks = VerificationLock.__table__

# The statements of issuing and checking codes, built once with bind parameters (see
# queries.py). Core throughout: what is read are plain values, and each write is one row.
_LOCKED_UNTIL = select(_locks.c.locked_until).where(
    _locks.c.phone_index == bindparam("phone_index")
)
# FOR UPDATE: the row lock serialises requests for a phone that already has a code
# (PostgreSQL; on SQLite, BEGIN IMMEDIATE already holds the database's write lock).
_LATEST_CHALLENGE = (
    select(
        _challenges.c.id,
        _challenges.c.code_hash,
        _challenges.c.conversation_id,
        _challenges.c.created_at,
        _challenges.c.expires_at,
        _challenges.c.attempts,
        _challenges.c.consumed_at,
    )
    .where(_challenges.c.phone_index == bindparam("phone_index"))
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
    .with_for_update()
)
_SENT_SINCE = select(func.count(), func.min(_challenges.c.created_at)).where(
    _challenges.c.phone_index == bindparam("phone_index"),
    _challenges.c.created_at > bindparam("since"),
)
_INSERT_CHALLENGE = insert(_challenges)
# The columns to set are the parameters given besides challenge_id.
_UPDATE_CHALLENGE = update(_challenges).where(_challenges.c.id == bindparam("challenge_id"))
_DELETE_CHALLENGE = delete(_challenges).where(_challenges.c.id == bindparam("challenge_id"))
_LOCK_ROW = (
    select(_locks.c.id).where(_locks.c.phone_index == bindparam("phone_index")).with_for_update()
)
_INSERT_LOCK = insert(_locks)
_UPDATE_LOCK = update(_locks).where(_locks.c.id == bindparam("lock_id"))


def _active_lock(session: Executor, stored: StoredPhone, now: datetime) -> Optional[datetime]:
    locked_until = session.execute(
        _LOCKED_UNTIL, {"phone_index": stored.index}
    ).scalar_one_or_none()
    return locked_until if locked_until is not None and locked_until > now else None


def _latest_challenge(session: Executor, stored: StoredPhone) -> Optional[Row]:
    """The phone's newest challenge, locked for update, or None."""
    return session.execute(_LATEST_CHALLENGE, {"phone_index": stored.index}).one_or_none()


def _update_challenge(session: Executor, challenge_id: int, **values: Any) -> None:
    session.execute(_UPDATE_CHALLENGE, {"challenge_id": challenge_id, **values})


def _lock(session: Executor, stored: StoredPhone, until: datetime) -> None:
    lock_id = session.execute(_LOCK_ROW, {"phone_index": stored.index}).scalar_one_or_none()
    if lock_id is None:
        session.execute(_INSERT_LOCK, {**stored.columns(), "locked_until": until})
    else:
        session.execute(_UPDATE_LOCK, {"lock_id": lock_id, "locked_until": until})


def issue_code(
    ctx: StoreContext, phone: str, conversation_id: str, channel: Optional[str] = None
) -> CodeIssue:
    """A new code for `phone` bound to `conversation_id`, unless locked or asked too often."""
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    settings = ctx.settings
    now = ctx.now()
    with ctx.core_transaction() as session:
        locked_until = _active_lock(session, stored, now)
        if locked_until is not None:
            issue = CodeIssue("locked", None, None, locked_until)
        else:
            issue = _issue_unlocked(session, settings, phone, stored, conversation_id, now)
        audit(
            session,
            at=now,
            action="code_issued" if issue.status == "issued" else "code_refused",
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"status": issue.status},
        )
    return issue


def _issue_unlocked(
    session: Executor,
    settings: Settings,
    phone: str,
    stored: StoredPhone,
    conversation_id: str,
    now: datetime,
) -> CodeIssue:
    # The row lock serialises requests for a phone that already has a code; two first-ever
    # requests racing may both issue, and then only the newer code is valid, as after a resend.
    latest = _latest_challenge(session, stored)
    interval = timedelta(seconds=settings.resend_interval_seconds)
    if latest is not None and latest.created_at + interval > now:
        return CodeIssue("too_soon", None, None, latest.created_at + interval)
    in_last_hour = session.execute(
        _SENT_SINCE, {"phone_index": stored.index, "since": now - _HOUR}
    ).one()
    if in_last_hour[0] >= settings.resend_per_hour:
        return CodeIssue("hourly_limit", None, None, in_last_hour[1] + _HOUR)

    carried = 0
    if latest is not None:
        # A resend must not reset the wrong-code count, or resending would allow endless
        # guessing; the count starts over after a success, a lockout or a quiet hour.
        if (
            latest.consumed_at is None
            and latest.attempts < settings.max_code_attempts
            and latest.created_at > now - _HOUR
        ):
            carried = latest.attempts
        # Only the newest code is valid.
        if latest.consumed_at is None and latest.expires_at > now:
            _update_challenge(session, latest.id, expires_at=now)
    code = _new_code()
    expires_at = now + timedelta(seconds=settings.code_ttl_seconds)
    session.execute(
        _INSERT_CHALLENGE,
        {
            **stored.columns(),
            "code_hash": code_hash(settings, phone, code),
            "conversation_id": conversation_id,
            "created_at": now,
            "expires_at": expires_at,
            "attempts": carried,
        },
    )
    return CodeIssue("issued", code, expires_at, now + interval)


def check_code(
    ctx: StoreContext, phone: str, code: str, conversation_id: str, channel: Optional[str] = None
) -> CodeCheck:
    """Checks a code against the newest one sent to `phone` in this conversation."""
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    settings = ctx.settings
    now = ctx.now()
    with ctx.core_transaction() as session:
        result = _check(session, settings, phone, stored, code, conversation_id, now, channel)
        audit(
            session,
            at=now,
            action=_CHECK_ACTIONS[result.status],
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"status": result.status, "remaining_attempts": result.remaining_attempts},
        )
    return result


def _check(
    session: Executor,
    settings: Settings,
    phone: str,
    stored: StoredPhone,
    code: str,
    conversation_id: str,
    now: datetime,
    channel: Optional[str] = None,
) -> CodeCheck:
    maximum = settings.max_code_attempts
    locked_until = _active_lock(session, stored, now)
    if locked_until is not None:
        return CodeCheck("locked", 0, locked_until)
    challenge = _latest_challenge(session, stored)
    if (
        challenge is None
        or challenge.consumed_at is not None
        or challenge.conversation_id != conversation_id
    ):
        return CodeCheck("no_code", maximum, None)
    if challenge.expires_at <= now:
        return CodeCheck("expired", max(0, maximum - challenge.attempts), None)

    candidate = code.strip() if isinstance(code, str) else ""
    # Hash whatever was given, so the comparison takes the same time for any input.
    given = code_hash(settings, phone, candidate)
    if _CODE.fullmatch(candidate) and hmac.compare_digest(given, challenge.code_hash):
        _update_challenge(session, challenge.id, consumed_at=now)
        return CodeCheck("ok", max(0, maximum - challenge.attempts), None)

    attempts = challenge.attempts + 1
    remaining = maximum - attempts
    if remaining > 0:
        _update_challenge(session, challenge.id, attempts=attempts)
        return CodeCheck("wrong", remaining, None)
    until = now + timedelta(seconds=settings.lockout_seconds)
    _lock(session, stored, until)
    audit(
        session,
        at=now,
        action="verification_locked",
        conversation_id=conversation_id,
        channel=channel,
        phone=phone,
        detail={"locked_until": until.isoformat(), "attempts": attempts},
    )
    # The code is burnt: after the lockout a new one must be requested.
    _update_challenge(session, challenge.id, attempts=attempts, expires_at=now)
    return CodeCheck("locked", 0, until)


# conversation_phone's two reads, built once (see queries.py): the phone a code was last sent
# to in a conversation, and the phone last proved there.
_LAST_SENT = (
    select(_challenges.c.phone_ciphertext)
    .where(_challenges.c.conversation_id == bindparam("conversation_id"))
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
)
_LAST_PROVED = (
    select(_challenges.c.phone_ciphertext)
    .where(
        _challenges.c.conversation_id == bindparam("conversation_id"),
        _challenges.c.consumed_at.is_not(None),
    )
    .order_by(_challenges.c.consumed_at.desc(), _challenges.c.id.desc())
    .limit(1)
)


def conversation_phone(ctx: StoreContext, conversation_id: str, verified: bool) -> Optional[str]:
    """The phone a code was last sent to in this conversation (or last proved with one).

    Conversations keep only the masked number; this is how actions get the real one back.
    """
    statement = _LAST_PROVED if verified else _LAST_SENT
    with ctx.core_transaction() as session:
        token = session.execute(
            statement, {"conversation_id": conversation_id}
        ).scalar_one_or_none()
    return None if token is None else phone_from_store(ctx.phones, token)


def withdraw_code(
    ctx: StoreContext, phone: str, conversation_id: str, channel: Optional[str] = None
) -> bool:
    """Forgets the code just issued to `phone` here because its SMS never went out.

    Otherwise the resend interval and hourly limit would count a message the user never got
    ("刚刚已经发过验证码了" would be untrue). Wrong tries carried into it stay on the older code.
    """
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    now = ctx.now()
    with ctx.core_transaction() as session:
        latest = _latest_challenge(session, stored)
        if latest is None or latest.conversation_id != conversation_id or latest.consumed_at:
            return False
        session.execute(_DELETE_CHALLENGE, {"challenge_id": latest.id})
        audit(
            session,
            at=now,
            action="code_withdrawn",
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"reason": "sms_failed"},
        )
    return True
