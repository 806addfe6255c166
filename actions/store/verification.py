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
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions.settings import Settings
from actions.store.context import StoreContext, audit
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


def _active_lock(session: Session, stored: StoredPhone, now: datetime) -> Optional[datetime]:
    locked_until = session.execute(
        select(VerificationLock.locked_until).where(VerificationLock.phone_index == stored.index)
    ).scalar_one_or_none()
    return locked_until if locked_until is not None and locked_until > now else None


def _latest_challenge(
    session: Session, stored: StoredPhone, for_update: bool = False
) -> Optional[VerificationChallenge]:
    statement = (
        select(VerificationChallenge)
        .where(VerificationChallenge.phone_index == stored.index)
        .order_by(VerificationChallenge.created_at.desc(), VerificationChallenge.id.desc())
        .limit(1)
    )
    if for_update:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def _lock(session: Session, stored: StoredPhone, until: datetime) -> None:
    lock = session.execute(
        select(VerificationLock)
        .where(VerificationLock.phone_index == stored.index)
        .with_for_update()
    ).scalar_one_or_none()
    if lock is None:
        session.add(VerificationLock(**stored.columns(), locked_until=until))
    else:
        lock.locked_until = until


def issue_code(
    ctx: StoreContext, phone: str, conversation_id: str, channel: Optional[str] = None
) -> CodeIssue:
    """A new code for `phone` bound to `conversation_id`, unless locked or asked too often."""
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    settings = ctx.settings
    now = ctx.now()
    with ctx.transaction() as session:
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
    session: Session,
    settings: Settings,
    phone: str,
    stored: StoredPhone,
    conversation_id: str,
    now: datetime,
) -> CodeIssue:
    # The row lock serialises requests for a phone that already has a code; two first-ever
    # requests racing may both issue, and then only the newer code is valid, as after a resend.
    latest = _latest_challenge(session, stored, for_update=True)
    interval = timedelta(seconds=settings.resend_interval_seconds)
    if latest is not None and latest.created_at + interval > now:
        return CodeIssue("too_soon", None, None, latest.created_at + interval)
    in_last_hour = session.execute(
        select(func.count(), func.min(VerificationChallenge.created_at)).where(
            VerificationChallenge.phone_index == stored.index,
            VerificationChallenge.created_at > now - _HOUR,
        )
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
            latest.expires_at = now
    code = _new_code()
    expires_at = now + timedelta(seconds=settings.code_ttl_seconds)
    session.add(
        VerificationChallenge(
            **stored.columns(),
            code_hash=code_hash(settings, phone, code),
            conversation_id=conversation_id,
            created_at=now,
            expires_at=expires_at,
            attempts=carried,
        )
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
    with ctx.transaction() as session:
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
    session: Session,
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
    challenge = _latest_challenge(session, stored, for_update=True)
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
        challenge.consumed_at = now
        return CodeCheck("ok", max(0, maximum - challenge.attempts), None)

    challenge.attempts += 1
    remaining = maximum - challenge.attempts
    if remaining > 0:
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
        detail={"locked_until": until.isoformat(), "attempts": challenge.attempts},
    )
    # The code is burnt: after the lockout a new one must be requested.
    challenge.expires_at = now
    return CodeCheck("locked", 0, until)


def conversation_phone(ctx: StoreContext, conversation_id: str, verified: bool) -> Optional[str]:
    """The phone a code was last sent to in this conversation (or last proved with one).

    Conversations keep only the masked number; this is how actions get the real one back.
    """
    statement = select(VerificationChallenge.phone_ciphertext).where(
        VerificationChallenge.conversation_id == conversation_id
    )
    if verified:
        statement = statement.where(VerificationChallenge.consumed_at.is_not(None)).order_by(
            VerificationChallenge.consumed_at.desc(), VerificationChallenge.id.desc()
        )
    else:
        statement = statement.order_by(
            VerificationChallenge.created_at.desc(), VerificationChallenge.id.desc()
        )
    with ctx.transaction() as session:
        token = session.execute(statement.limit(1)).scalar_one_or_none()
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
    with ctx.transaction() as session:
        latest = _latest_challenge(session, stored, for_update=True)
        if latest is None or latest.conversation_id != conversation_id or latest.consumed_at:
            return False
        session.delete(latest)
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
