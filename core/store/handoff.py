"""Handoff tickets for human agents and the record of SMS sent."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from core.references import HANDOFF_PREFIX, new_reference
from core.statuses import TicketStatus
from core.store.context import StoreContext, audit
from core.store.errors import InvalidArgument, ReferenceExhausted
from core.store.models import SMS_KINDS, SMS_STATUSES, HandoffTicket, SmsMessage
from core.store.privacy import mask_phone, mask_phones_in_text, normalize_phone
from core.store.views import TicketView

REFERENCE_ATTEMPTS = 5
MAX_SUMMARY_LENGTH = 2000
MAX_ERROR_LENGTH = 500
_INSERT_SMS = insert(SmsMessage.__table__)


def load_ticket(ctx: StoreContext, reference: str) -> Optional[TicketView]:
    """The ticket with this reference, with what the agent sees, or None."""
    with ctx.transaction() as session:
        row = session.execute(
            select(HandoffTicket).where(HandoffTicket.reference == reference.strip().upper())
        ).scalar_one_or_none()
        if row is None:
            return None
        return TicketView(
            row.reference,
            row.created_at,
            row.channel,
            row.phone_masked,
            row.summary,
            TicketStatus(row.status),
        )


def open_handoff(
    ctx: StoreContext,
    *,
    conversation_id: str,
    channel: str,
    phone: Optional[str],
    summary: str,
) -> TicketView:
    """Opens a ticket for a human agent; the phone is stored masked."""
    # Whatever number the user gave is kept (masked): a handoff must never fail on its format.
    masked = mask_phone(phone.strip()) if phone and phone.strip() else None
    # Agents read the summary: any number in it is masked, like the ticket's phone.
    summary = mask_phones_in_text((summary or "").strip())[:MAX_SUMMARY_LENGTH]
    for _ in range(REFERENCE_ATTEMPTS):
        now = ctx.now()
        reference = new_reference(HANDOFF_PREFIX, ctx.local_day(now))
        try:
            with ctx.transaction() as session:
                session.add(
                    HandoffTicket(
                        reference=reference,
                        conversation_id=conversation_id,
                        channel=channel,
                        phone_masked=masked,
                        summary=summary,
                        status=TicketStatus.OPEN,
                        created_at=now,
                    )
                )
                audit(
                    session,
                    at=now,
                    action="handoff_opened",
                    conversation_id=conversation_id,
                    channel=channel,
                    phone=phone,
                    detail={"reference": reference},
                )
            return TicketView(reference, now, channel, masked, summary, TicketStatus.OPEN)
        except IntegrityError:
            with ctx.transaction() as session:
                taken = session.execute(
                    select(HandoffTicket.id).where(HandoffTicket.reference == reference)
                ).first()
            if taken is None:
                raise
    raise ReferenceExhausted(f"no free reference after {REFERENCE_ATTEMPTS} attempts")


def record_sms(
    ctx: StoreContext,
    phone: str,
    kind: str,
    status: str,
    error: Optional[str] = None,
    *,
    conversation_id: Optional[str] = None,
    channel: Optional[str] = None,
) -> None:
    """Records that an SMS of `kind` was sent or failed (never its text), and audits it."""
    if kind not in SMS_KINDS:
        raise InvalidArgument(f"kind must be one of {SMS_KINDS}")
    if status not in SMS_STATUSES:
        raise InvalidArgument(f"status must be one of {SMS_STATUSES}")
    phone = normalize_phone(phone)
    now = ctx.now()
    with ctx.core_transaction() as session:
        # Core, like the audit row: nothing reads the row back in this transaction.
        session.execute(
            _INSERT_SMS,
            {
                "phone_masked": mask_phone(phone),
                "kind": kind,
                "status": status,
                "error": mask_phones_in_text(error)[:MAX_ERROR_LENGTH] if error else None,
                "created_at": now,
            },
        )
        # The gateway's error text stays in sms_messages; the audit row says only what happened.
        audit(
            session,
            at=now,
            action=f"sms_{status}",
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"kind": kind},
        )
