"""The number a conversation was given: kept for it, encrypted, even when no code went out.

A code may be refused (too soon, over a ceiling, locked here) or lost by the SMS gateway;
the conversation still knows which number its user gave, so "重新发送" works later and the
next question is about the code, not the number again. Conversations keep only the masked
number; this is how actions get the real one back. It proves nothing: who the user proved to
be is sessions.session_phone's answer.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import bindparam, insert, select, update

from core.store.context import StoreContext
from core.store.models import ConversationPhone, VerificationChallenge
from core.store.privacy import phone_from_store, stored_phone

_given = ConversationPhone.__table__
_challenges = VerificationChallenge.__table__

# The statements, built once with bind parameters (see queries.py).
_GIVEN = (
    select(_given.c.id, _given.c.phone_ciphertext, _given.c.given_at)
    .where(_given.c.conversation_id == bindparam("conversation_id"))
    .with_for_update()
)
_GIVEN_READ = select(_given.c.phone_ciphertext, _given.c.given_at).where(
    _given.c.conversation_id == bindparam("conversation_id")
)
_UPDATE = update(_given).where(_given.c.id == bindparam("row_id"))
_INSERT = insert(_given)
# The phone a code was last sent to in a conversation (codes sent before revision 0006, or
# to an IVR caller's own number, which the caller never typed).
_LAST_SENT = (
    select(_challenges.c.phone_ciphertext, _challenges.c.created_at)
    .where(_challenges.c.conversation_id == bindparam("conversation_id"))
    .order_by(_challenges.c.created_at.desc(), _challenges.c.id.desc())
    .limit(1)
)


def remember_conversation_phone(ctx: StoreContext, conversation_id: str, phone: str) -> None:
    """Keeps `phone` as the number this conversation was given (replacing an earlier one)."""
    stored = stored_phone(ctx.phones, phone)
    now = ctx.now()
    with ctx.core_transaction() as session:
        row = session.execute(_GIVEN, {"conversation_id": conversation_id}).one_or_none()
        if row is None:
            session.execute(
                _INSERT, {**stored.columns(), "conversation_id": conversation_id, "given_at": now}
            )
        else:
            session.execute(_UPDATE, {"row_id": row.id, **stored.columns(), "given_at": now})


def conversation_phone(ctx: StoreContext, conversation_id: str) -> Optional[str]:
    """The number this conversation was given or sent a code to last, or None."""
    with ctx.core_transaction() as session:
        given = session.execute(_GIVEN_READ, {"conversation_id": conversation_id}).one_or_none()
        sent = session.execute(_LAST_SENT, {"conversation_id": conversation_id}).one_or_none()
    # A number given is newer than any code sent before it; a tie goes to what was given.
    newest = max(
        (row for row in (given, sent) if row is not None),
        key=lambda row: row[1],
        default=None,
    )
    return None if newest is None else phone_from_store(ctx.phones, newest[0])
