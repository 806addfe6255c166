"""SMS verification codes: issuing, checking, ceilings and lockout.

A code belongs to the conversation it was sent in, and so do its wrong tries and the lockout
they cause: a stranger guessing in one conversation never stops the holder in another.
Guessing stays bounded because every code allows max_code_attempts tries and the codes sent
to a number, and asked for by a conversation or a client, have hourly and daily ceilings.

Nothing here looks at accounts, so a number without an account behaves exactly like one
with an account: the answers cannot be used to find out who is a customer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Row

from core.settings import Settings
from core.statuses import CodeCheckStatus, CodeIssueStatus, SessionMethod
from core.store.context import StoreContext, audit
from core.store.db import Executor
from core.store.models import CLIENT_KEY_LENGTH, VerificationChallenge
from core.store.privacy import StoredPhone, normalize_phone, stored_phone
from core.store.sessions import open_session
from core.store.views import CodeCheck, CodeIssue, CodeState

CODE_DIGITS = 6
_CODE = re.compile(r"\d{6}")
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
# The audit action of each answer of check_code.
_CHECK_ACTIONS = {
    CodeCheckStatus.OK: "code_verified",
    CodeCheckStatus.WRONG: "code_wrong",
    CodeCheckStatus.LOCKED: "code_locked",
    CodeCheckStatus.EXPIRED: "code_expired",
    CodeCheckStatus.NO_CODE: "code_missing",
}


def code_hash(settings: Settings, phone: str, code: str) -> str:
    """HMAC-SHA256 of phone and code, keyed so a leaked table does not give the codes away."""
    message = f"{phone}:{code}".encode()
    return hmac.new(settings.verification_hash_key.encode(), message, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


_challenges = VerificationChallenge.__table__

# The statements of issuing and checking codes, built once with bind parameters (see
# queries.py). Core throughout: what is read are plain values, and each write is one row.
_CHALLENGE_COLUMNS = (
    _challenges.c.id,
    _challenges.c.code_hash,
    _challenges.c.conversation_id,
    _challenges.c.created_at,
    _challenges.c.expires_at,
    _challenges.c.attempts,
    _challenges.c.consumed_at,
)
# FOR UPDATE: the row lock serialises requests for a phone that already has a code, so two
# conversations cannot both slip under its ceiling (PostgreSQL; on SQLite, BEGIN IMMEDIATE
# already holds the database's write lock).
_PHONE_LATEST = (
    select(_challenges.c.id)
    .where(_challenges.c.phone_index == bindparam("phone_index"))
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
    .with_for_update()
)
# The newest code sent to the phone in one conversation: the only one that conversation may
# use. Codes of other conversations neither count nor are touched here.
_LATEST_HERE_READ = (
    select(*_CHALLENGE_COLUMNS)
    .where(
        _challenges.c.phone_index == bindparam("phone_index"),
        _challenges.c.conversation_id == bindparam("conversation_id"),
    )
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
)
_LATEST_HERE = _LATEST_HERE_READ.with_for_update()
# A lockout is the moment a conversation burnt a code with its last wrong try: it holds that
# number in that conversation only, never the number everywhere.
_BURNT_HERE = select(func.max(_challenges.c.expires_at)).where(
    _challenges.c.phone_index == bindparam("phone_index"),
    _challenges.c.conversation_id == bindparam("conversation_id"),
    _challenges.c.attempts >= bindparam("max_attempts"),
)
_SENT_TO_NUMBER = select(func.count(), func.min(_challenges.c.created_at)).where(
    _challenges.c.phone_index == bindparam("phone_index"),
    _challenges.c.own_line == bindparam("own_line"),
    _challenges.c.created_at > bindparam("since"),
)
_SENT_IN_CONVERSATION = select(func.count(), func.min(_challenges.c.created_at)).where(
    _challenges.c.conversation_id == bindparam("conversation_id"),
    _challenges.c.created_at > bindparam("since"),
)
_SENT_FOR_CLIENT = select(func.count(), func.min(_challenges.c.created_at)).where(
    _challenges.c.client_key == bindparam("client_key"),
    _challenges.c.created_at > bindparam("since"),
)
_INSERT_CHALLENGE = insert(_challenges)
# The columns to set are the parameters given besides challenge_id.
_UPDATE_CHALLENGE = update(_challenges).where(_challenges.c.id == bindparam("challenge_id"))
_DELETE_CHALLENGE = delete(_challenges).where(_challenges.c.id == bindparam("challenge_id"))


@dataclass(frozen=True)
class CodeSource:
    """Where a code request comes from: what the per-source ceilings count."""

    conversation_id: str
    client_key: Optional[str] = None
    # An IVR caller asking for a code to the number they call from (the caller_id assertion
    # matches): counted against that line's own ceiling.
    own_line: bool = False


def _lock_here(
    session: Executor, settings: Settings, stored: StoredPhone, conversation_id: str, now: datetime
) -> Optional[datetime]:
    """When the lockout of this number in this conversation ends, if it is in force."""
    burnt_at = session.execute(
        _BURNT_HERE,
        {
            "phone_index": stored.index,
            "conversation_id": conversation_id,
            "max_attempts": settings.max_code_attempts,
        },
    ).scalar_one_or_none()
    if burnt_at is None:
        return None
    until = burnt_at + timedelta(seconds=settings.lockout_seconds)
    return until if until > now else None


def _latest_here(session: Executor, stored: StoredPhone, conversation_id: str) -> Optional[Row]:
    """The phone's newest challenge in this conversation, locked for update, or None."""
    return session.execute(
        _LATEST_HERE, {"phone_index": stored.index, "conversation_id": conversation_id}
    ).one_or_none()


def _update_challenge(session: Executor, challenge_id: int, **values: Any) -> None:
    session.execute(_UPDATE_CHALLENGE, {"challenge_id": challenge_id, **values})


def _client_key(value: object) -> Optional[str]:
    return value[:CLIENT_KEY_LENGTH] if isinstance(value, str) and value else None


def issue_code(
    ctx: StoreContext,
    phone: str,
    conversation_id: str,
    channel: Optional[str] = None,
    *,
    client_key: Optional[str] = None,
    own_line: bool = False,
) -> CodeIssue:
    """A new code for `phone` bound to `conversation_id`, unless locked here or over a ceiling."""
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    source = CodeSource(conversation_id, _client_key(client_key), bool(own_line))
    now = ctx.now()
    with ctx.core_transaction() as session:
        locked_until = _lock_here(session, ctx.settings, stored, conversation_id, now)
        if locked_until is not None:
            issue = CodeIssue(CodeIssueStatus.LOCKED, None, None, locked_until)
        else:
            issue = _issue_unlocked(session, ctx.settings, phone, stored, source, now)
        audit(
            session,
            at=now,
            action="code_issued" if issue.status == CodeIssueStatus.ISSUED else "code_refused",
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"status": issue.status, **({"own_line": True} if source.own_line else {})},
        )
    return issue


def _ceiling(
    session: Executor, statement: Any, params: dict, limits: tuple[tuple[timedelta, int], ...], now
) -> Optional[datetime]:
    """When the first of `limits` (window, most codes) reached by `statement`'s count ends."""
    for window, most in limits:
        count, oldest = session.execute(statement, {**params, "since": now - window}).one()
        if count >= most:
            return (oldest or now) + window
    return None


def _issue_unlocked(
    session: Executor,
    settings: Settings,
    phone: str,
    stored: StoredPhone,
    source: CodeSource,
    now: datetime,
) -> CodeIssue:
    session.execute(_PHONE_LATEST, {"phone_index": stored.index}).scalar_one_or_none()
    latest = _latest_here(session, stored, source.conversation_id)
    refused = _refusal(session, settings, stored, source, latest, now)
    if refused is not None:
        return refused
    interval = timedelta(seconds=settings.resend_interval_seconds)
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
        # Only the newest code of a conversation is valid.
        if latest.consumed_at is None and latest.expires_at > now:
            _update_challenge(session, latest.id, expires_at=now)
    code = _new_code()
    expires_at = now + timedelta(seconds=settings.code_ttl_seconds)
    session.execute(
        _INSERT_CHALLENGE,
        {
            **stored.columns(),
            "code_hash": code_hash(settings, phone, code),
            "conversation_id": source.conversation_id,
            "created_at": now,
            "expires_at": expires_at,
            "attempts": carried,
            "client_key": source.client_key,
            "own_line": source.own_line,
        },
    )
    return CodeIssue(CodeIssueStatus.ISSUED, code, expires_at, now + interval)


def _refusal(
    session: Executor,
    settings: Settings,
    stored: StoredPhone,
    source: CodeSource,
    latest: Optional[Row],
    now: datetime,
) -> Optional[CodeIssue]:
    """Why no code may be sent now (too soon here, or a ceiling), or None when one may."""
    interval = timedelta(seconds=settings.resend_interval_seconds)
    if latest is not None and latest.created_at + interval > now:
        return CodeIssue(CodeIssueStatus.TOO_SOON, None, None, latest.created_at + interval)
    # The number's ceilings: strangers can use up the shared one, never the caller's own line.
    per_hour, per_day = (
        (settings.own_line_codes_per_hour, settings.own_line_codes_per_day)
        if source.own_line
        else (settings.codes_per_hour, settings.codes_per_day)
    )
    number = {"phone_index": stored.index, "own_line": source.own_line}
    retry = _ceiling(session, _SENT_TO_NUMBER, number, ((_HOUR, per_hour),), now)
    if retry is not None:
        return CodeIssue(CodeIssueStatus.HOURLY_LIMIT, None, None, retry)
    retry = _ceiling(session, _SENT_TO_NUMBER, number, ((_DAY, per_day),), now)
    if retry is not None:
        return CodeIssue(CodeIssueStatus.DAILY_LIMIT, None, None, retry)
    # The source's ceilings: one conversation, and one client across its conversations.
    retry = _ceiling(
        session,
        _SENT_IN_CONVERSATION,
        {"conversation_id": source.conversation_id},
        (
            (_HOUR, settings.conversation_codes_per_hour),
            (_DAY, settings.conversation_codes_per_day),
        ),
        now,
    )
    if retry is None and source.client_key is not None:
        retry = _ceiling(
            session,
            _SENT_FOR_CLIENT,
            {"client_key": source.client_key},
            ((_HOUR, settings.client_codes_per_hour), (_DAY, settings.client_codes_per_day)),
            now,
        )
    if retry is not None:
        return CodeIssue(CodeIssueStatus.SOURCE_LIMIT, None, None, retry)
    return None


def code_state(
    ctx: StoreContext,
    phone: str,
    conversation_id: str,
    *,
    client_key: Optional[str] = None,
    own_line: bool = False,
) -> CodeState:
    """Whether this conversation holds a usable code for `phone`, and when a new one may be
    sent: what issue_code would answer now, without issuing, writing or auditing anything."""
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    source = CodeSource(conversation_id, _client_key(client_key), bool(own_line))
    settings = ctx.settings
    now = ctx.now()
    with ctx.core_transaction() as session:
        locked_until = _lock_here(session, settings, stored, conversation_id, now)
        if locked_until is not None:
            return CodeState(False, CodeIssueStatus.LOCKED, locked_until)
        latest = session.execute(
            _LATEST_HERE_READ, {"phone_index": stored.index, "conversation_id": conversation_id}
        ).one_or_none()
        refused = _refusal(session, settings, stored, source, latest, now)
    live = (
        latest is not None
        and latest.consumed_at is None
        and latest.expires_at > now
        and latest.attempts < settings.max_code_attempts
    )
    if refused is None:
        return CodeState(live, CodeIssueStatus.READY, None)
    return CodeState(live, refused.status, refused.retry_at)


def check_code(
    ctx: StoreContext, phone: str, code: str, conversation_id: str, channel: Optional[str] = None
) -> CodeCheck:
    """Checks a code against the newest one sent to `phone` in this conversation.

    A correct code opens the conversation's verified session in the same transaction.
    """
    phone = normalize_phone(phone)
    stored = stored_phone(ctx.phones, phone)
    settings = ctx.settings
    now = ctx.now()
    with ctx.core_transaction() as session:
        result = _check(session, settings, phone, stored, code, conversation_id, now, channel)
        if result.status == CodeCheckStatus.OK:
            open_session(
                session,
                conversation_id=conversation_id,
                stored=stored,
                method=SessionMethod.CODE,
                now=now,
            )
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
    locked_until = _lock_here(session, settings, stored, conversation_id, now)
    if locked_until is not None:
        return CodeCheck(CodeCheckStatus.LOCKED, 0, locked_until)
    challenge = _latest_here(session, stored, conversation_id)
    if challenge is None or challenge.consumed_at is not None:
        return CodeCheck(CodeCheckStatus.NO_CODE, maximum, None)
    if challenge.expires_at <= now:
        return CodeCheck(CodeCheckStatus.EXPIRED, max(0, maximum - challenge.attempts), None)

    candidate = code.strip() if isinstance(code, str) else ""
    # Hash whatever was given, so the comparison takes the same time for any input.
    given = code_hash(settings, phone, candidate)
    if _CODE.fullmatch(candidate) and hmac.compare_digest(given, challenge.code_hash):
        _update_challenge(session, challenge.id, consumed_at=now)
        return CodeCheck(CodeCheckStatus.OK, max(0, maximum - challenge.attempts), None)

    attempts = challenge.attempts + 1
    remaining = maximum - attempts
    if remaining > 0:
        _update_challenge(session, challenge.id, attempts=attempts)
        return CodeCheck(CodeCheckStatus.WRONG, remaining, None)
    until = now + timedelta(seconds=settings.lockout_seconds)
    audit(
        session,
        at=now,
        action="verification_locked",
        conversation_id=conversation_id,
        channel=channel,
        phone=phone,
        detail={"locked_until": until.isoformat(), "attempts": attempts},
    )
    # The code is burnt, and its burning is the lockout of this number in this conversation
    # (see _BURNT_HERE): the holder's own conversations are not affected.
    _update_challenge(session, challenge.id, attempts=attempts, expires_at=now)
    return CodeCheck(CodeCheckStatus.LOCKED, 0, until)


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
        latest = _latest_here(session, stored, conversation_id)
        if latest is None or latest.consumed_at:
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
