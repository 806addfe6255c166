"""Cancelling a subscription: in the store for 话费, at the partner first for 支付宝/微信."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.partners.base import PartnerError, PartnerTimeout
from actions.store.context import StoreContext, audit
from actions.store.errors import IdempotencyConflict, PartnerNotConfigured, ReferenceExhausted
from actions.store.models import PARTNER_CHANNELS, Account, Cancellation, Subscription
from actions.store.privacy import normalize_phone, phone_index
from actions.store.queries import load_subscription
from actions.store.references import CANCELLATION_PREFIX, new_reference
from actions.store.views import CancelOutcome, SubscriptionView

# A collision among 32**5 random parts per day is rare; a few retries make it vanish.
REFERENCE_ATTEMPTS = 5


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
    with ctx.transaction() as session:
        owned = _owned_subscription(session, phone_index(ctx.phones, phone), subscription_id)
        view = load_subscription(session, subscription_id) if owned else None
        answer = _answer_without_cancelling(session, owned, view, idempotency_key)
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
        billing_channel = owned.billing_channel
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
            return CancelOutcome("partner_timeout", view, None, None, None)
        except PartnerError:
            _audit_partner_failure(
                ctx, "partner_failed", subscription_id, phone, channel, conversation_id
            )
            return CancelOutcome("partner_failed", view, None, None, None)

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
    session: Session,
    owned: Optional[Subscription],
    view: Optional[SubscriptionView],
    idempotency_key: str,
) -> Optional[CancelOutcome]:
    """The answer when there is nothing to cancel here, or None to go ahead."""
    if owned is None:
        return CancelOutcome("not_found", None, None, None, None)
    existing = _existing_outcome(session, owned.id, idempotency_key)
    if existing is not None:
        return existing
    if owned.billing_channel == "app_store":
        # Apple subscriptions can only be cancelled on the user's device.
        return CancelOutcome("app_store", view, None, None, None)
    return None


def _owned_subscription(
    session: Session, index: str, subscription_id: int
) -> Optional[Subscription]:
    return session.execute(
        select(Subscription)
        .join(Account, Account.id == Subscription.account_id)
        .where(Subscription.id == subscription_id, Account.phone_index == index)
    ).scalar_one_or_none()


def _existing_outcome(
    session: Session, subscription_id: int, idempotency_key: str
) -> Optional[CancelOutcome]:
    """The answer for a subscription that is cancelled already, or None if it is not."""
    by_key = session.execute(
        select(Cancellation).where(Cancellation.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if by_key is not None and by_key.subscription_id != subscription_id:
        raise IdempotencyConflict("this idempotency key was used for another subscription")
    cancellation = (
        by_key
        or session.execute(
            select(Cancellation).where(Cancellation.subscription_id == subscription_id)
        ).scalar_one_or_none()
    )
    view = load_subscription(session, subscription_id)
    if cancellation is not None:
        # A repeat of the same request gets the same answer as the first time.
        status = "cancelled" if by_key is not None else "already_cancelled"
        return CancelOutcome(
            status,
            view,
            cancellation.reference,
            cancellation.requested_at,
            cancellation.effective_until,
            repeat=by_key is not None,
        )
    if view is not None and view.status == "cancelled":
        # Cancelled outside this assistant, without a reference.
        return CancelOutcome("already_cancelled", view, None, None, view.period_end)
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
            with ctx.transaction() as session:
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
            with ctx.transaction() as session:
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
    session: Session,
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
    subscription = session.execute(
        select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    ).scalar_one()
    existing = _existing_outcome(session, subscription_id, idempotency_key)
    if existing is not None:
        return existing
    subscription.status = "cancelled"
    subscription.auto_renew = False
    subscription.next_charge_at = None
    session.add(
        Cancellation(
            reference=reference,
            subscription_id=subscription_id,
            idempotency_key=idempotency_key,
            channel=channel,
            conversation_id=conversation_id,
            requested_at=now,
            effective_until=subscription.period_end,
        )
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
            "billing_channel": subscription.billing_channel,
            "partner_confirmation": confirmation,
        },
    )
    session.flush()
    return CancelOutcome(
        "cancelled",
        load_subscription(session, subscription_id),
        reference,
        now,
        subscription.period_end,
    )


def _audit_partner_failure(
    ctx: StoreContext,
    action: str,
    subscription_id: int,
    phone: str,
    channel: str,
    conversation_id: str,
) -> None:
    with ctx.transaction() as session:
        audit(
            session,
            at=ctx.now(),
            action=action,
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            detail={"subscription_id": subscription_id},
        )
