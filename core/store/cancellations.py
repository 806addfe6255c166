"""Cancelling a subscription: in the store for 话费, at the partner first for 支付宝/微信."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.partners.base import PartnerError, PartnerTimeout
from core.references import CANCELLATION_PREFIX, new_reference
from core.statuses import CancelStatus, SubscriptionStatus
from core.store.context import StoreContext, audit
from core.store.db import Executor
from core.store.errors import IdempotencyConflict, PartnerNotConfigured, ReferenceExhausted
from core.store.models import PARTNER_CHANNELS, Cancellation, Subscription
from core.store.privacy import mask_phones_in_text, normalize_phone, phone_index
from core.store.queries import load_subscription, owned_subscription_rows, subscription_view
from core.store.views import CancelOutcome, SubscriptionView

# A collision among 32**5 random parts per day is rare; a few retries make it vanish.
REFERENCE_ATTEMPTS = 5

# The statements of a cancellation, built once (see queries.py); Core, as no ORM object is
# needed: the views are made from plain rows.
_subscriptions = Subscription.__table__
_cancellations = Cancellation.__table__
# The holder's subscription as a view, then its partner agreement id.
_OWNED = owned_subscription_rows(_subscriptions.c.partner_agreement_id)
# The cancellation made with a request's key, and the subscription's own; at most two rows.
_CANCELLATIONS = select(
    _cancellations.c.subscription_id,
    _cancellations.c.idempotency_key,
    _cancellations.c.reference,
    _cancellations.c.requested_at,
    _cancellations.c.effective_until,
).where(
    or_(
        _cancellations.c.idempotency_key == bindparam("idempotency_key"),
        _cancellations.c.subscription_id == bindparam("subscription_id"),
    )
)
# FOR UPDATE: the row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock).
_LOCK = (
    select(_subscriptions.c.status, _subscriptions.c.billing_channel, _subscriptions.c.period_end)
    .where(_subscriptions.c.id == bindparam("subscription_id"))
    .with_for_update()
)
_MARK_CANCELLED = (
    update(_subscriptions)
    .where(_subscriptions.c.id == bindparam("subscription_id"))
    .values(status=SubscriptionStatus.CANCELLED, auto_renew=False, next_charge_at=None)
)
_INSERT_CANCELLATION = insert(_cancellations)
_BY_REFERENCE = select(
    _cancellations.c.id,
    _cancellations.c.reference,
    _cancellations.c.conversation_id,
    _cancellations.c.channel,
).where(_cancellations.c.reference == bindparam("reference"))
_SET_REASON = update(_cancellations).where(_cancellations.c.id == bindparam("cancellation_id"))


def cancel(
    ctx: StoreContext,
    subscription_id: int,
    *,
    phone: str,
    channel: str,
    conversation_id: str,
    idempotency_key: str,
) -> CancelOutcome:
    """Cancels the subscription if it is `phone`'s; safe to repeat with the same key."""
    phone = normalize_phone(phone)
    with ctx.core_transaction() as session:
        owned = session.execute(
            _OWNED,
            {"subscription_id": subscription_id, "phone_index": phone_index(ctx.phones, phone)},
        ).one_or_none()
        view = subscription_view(owned) if owned else None
        answer = _answer_without_cancelling(session, view, idempotency_key)
        # Every request is on record, with the answer when no cancellation attempt follows.
        audit(
            session,
            at=ctx.now(),
            action="cancellation_requested",
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={
                "subscription_id": subscription_id,
                "answer": answer.status if answer is not None else "proceeding",
            },
        )
        if answer is not None:
            return answer
        billing_channel = view.billing_channel
        agreement_id = owned.partner_agreement_id

    confirmation: Optional[str] = None
    if billing_channel in PARTNER_CHANNELS:
        # Outside any transaction: a slow partner must not hold a row lock. If the store write
        # below then fails, a retry calls the partner again with the same idempotency key,
        # which the partner answers without cancelling twice.
        partner = ctx.partners.get(billing_channel)
        if partner is None:
            raise PartnerNotConfigured(f"no partner gateway for {billing_channel!r}")
        try:
            confirmation = partner.cancel_agreement(
                channel=billing_channel,
                agreement_id=agreement_id or "",
                idempotency_key=idempotency_key,
            )
        except PartnerTimeout:
            _audit_partner_failure(
                ctx, "partner_timeout", subscription_id, phone, channel, conversation_id
            )
            return CancelOutcome(CancelStatus.PARTNER_TIMEOUT, view, None, None, None)
        except PartnerError:
            _audit_partner_failure(
                ctx, "partner_failed", subscription_id, phone, channel, conversation_id
            )
            return CancelOutcome(CancelStatus.PARTNER_FAILED, view, None, None, None)

    return _record_cancellation(
        ctx,
        subscription_id,
        phone=phone,
        channel=channel,
        conversation_id=conversation_id,
        idempotency_key=idempotency_key,
        confirmation=confirmation,
    )


def _answer_without_cancelling(
    session: Executor, view: Optional[SubscriptionView], idempotency_key: str
) -> Optional[CancelOutcome]:
    """The answer when there is nothing to cancel here, or None to go ahead."""
    if view is None:
        return CancelOutcome(CancelStatus.NOT_FOUND, None, None, None, None)
    existing = _existing_outcome(session, view.id, idempotency_key, known_status=view.status)
    if existing is not None:
        return existing
    if view.billing_channel == "app_store":
        # Apple subscriptions can only be cancelled on the user's device.
        return CancelOutcome(CancelStatus.APP_STORE, view, None, None, None)
    return None


def _existing_outcome(
    session: Executor,
    subscription_id: int,
    idempotency_key: str,
    known_status: Optional[str] = None,
) -> Optional[CancelOutcome]:
    """The answer for a subscription that is cancelled already, or None if it is not.

    `known_status` is the subscription's status if this transaction read it already: then the
    subscription is read again only for an answer, which needs it as fresh as the cancellation.
    """
    rows = session.execute(
        _CANCELLATIONS, {"idempotency_key": idempotency_key, "subscription_id": subscription_id}
    ).all()
    by_key = next((row for row in rows if row.idempotency_key == idempotency_key), None)
    if by_key is not None and by_key.subscription_id != subscription_id:
        raise IdempotencyConflict("this idempotency key was used for another subscription")
    cancellation = by_key or next(
        (row for row in rows if row.subscription_id == subscription_id), None
    )
    if cancellation is None and known_status not in (None, SubscriptionStatus.CANCELLED):
        return None
    view = load_subscription(session, subscription_id)
    if cancellation is not None:
        # A repeat of the same request gets the same answer as the first time.
        status = CancelStatus.CANCELLED if by_key is not None else CancelStatus.ALREADY_CANCELLED
        return CancelOutcome(
            status,
            view,
            cancellation.reference,
            cancellation.requested_at,
            cancellation.effective_until,
            repeat=by_key is not None,
        )
    if view is not None and view.status == SubscriptionStatus.CANCELLED:
        # Cancelled outside this assistant, without a reference.
        return CancelOutcome(CancelStatus.ALREADY_CANCELLED, view, None, None, view.period_end)
    return None


def _record_cancellation(
    ctx: StoreContext,
    subscription_id: int,
    *,
    phone: str,
    channel: str,
    conversation_id: str,
    idempotency_key: str,
    confirmation: Optional[str],
) -> CancelOutcome:
    for _ in range(REFERENCE_ATTEMPTS):
        now = ctx.now()
        reference = new_reference(CANCELLATION_PREFIX, ctx.local_day(now))
        try:
            with ctx.core_transaction() as session:
                return _mark_cancelled(
                    session,
                    subscription_id,
                    now=now,
                    reference=reference,
                    phone=phone,
                    channel=channel,
                    conversation_id=conversation_id,
                    idempotency_key=idempotency_key,
                    confirmation=confirmation,
                )
        except IntegrityError:
            # Another request cancelled it between our read and our write: answer with its row.
            with ctx.core_transaction() as session:
                existing = _existing_outcome(session, subscription_id, idempotency_key)
                if existing is not None:
                    return existing
                taken = session.execute(
                    select(Cancellation.id).where(Cancellation.reference == reference)
                ).first()
            if taken is None:
                raise
            # Otherwise the reference was taken: try again with a fresh one.
    raise ReferenceExhausted(f"no free reference after {REFERENCE_ATTEMPTS} attempts")


def _mark_cancelled(
    session: Executor,
    subscription_id: int,
    *,
    now: datetime,
    reference: str,
    phone: str,
    channel: str,
    conversation_id: str,
    idempotency_key: str,
    confirmation: Optional[str],
) -> CancelOutcome:
    # The row lock makes concurrent requests for one subscription wait here, one at a time.
    locked = session.execute(_LOCK, {"subscription_id": subscription_id}).one()
    existing = _existing_outcome(
        session, subscription_id, idempotency_key, known_status=locked.status
    )
    if existing is not None:
        return existing
    session.execute(_MARK_CANCELLED, {"subscription_id": subscription_id})
    session.execute(
        _INSERT_CANCELLATION,
        {
            "reference": reference,
            "subscription_id": subscription_id,
            "idempotency_key": idempotency_key,
            "channel": channel,
            "conversation_id": conversation_id,
            "requested_at": now,
            "effective_until": locked.period_end,
        },
    )
    audit(
        session,
        at=now,
        action="subscription_cancelled",
        conversation_id=conversation_id,
        channel=channel,
        phone=phone,
        detail={
            "subscription_id": subscription_id,
            "reference": reference,
            "billing_channel": locked.billing_channel,
            "partner_confirmation": confirmation,
        },
    )
    return CancelOutcome(
        CancelStatus.CANCELLED,
        load_subscription(session, subscription_id),
        reference,
        now,
        locked.period_end,
    )


def record_reason(ctx: StoreContext, reference: str, reason: str, max_length: int) -> bool:
    """Stores why the user cancelled on the cancellation `reference`; False if there is none."""
    with ctx.core_transaction() as session:
        cancellation = session.execute(_BY_REFERENCE, {"reference": reference}).one_or_none()
        if cancellation is None:
            return False
        # A number typed into the reason is masked: no full phone is stored in the clear.
        stored = mask_phones_in_text((reason or "").strip())[:max_length] or None
        session.execute(_SET_REASON, {"cancellation_id": cancellation.id, "reason": stored})
        # The text itself stays out of the audit log: it is the user's own words.
        audit(
            session,
            at=ctx.now(),
            action="cancellation_reason_recorded",
            conversation_id=cancellation.conversation_id,
            channel=cancellation.channel,
            detail={"reference": cancellation.reference, "given": bool(stored)},
        )
        return True


def _audit_partner_failure(
    ctx: StoreContext,
    action: str,
    subscription_id: int,
    phone: str,
    channel: str,
    conversation_id: str,
) -> None:
    with ctx.core_transaction() as session:
        audit(
            session,
            at=ctx.now(),
            action=action,
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"subscription_id": subscription_id},
        )
