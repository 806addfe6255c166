"""Reviewing recent charges and opening refund cases for wrong ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.references import REFUND_PREFIX, new_reference
from core.statuses import RefundCaseStatus, SubscriptionStatus
from core.store.context import StoreContext, audit
from core.store.errors import ChargeNotFound, InvalidArgument, ReferenceExhausted
from core.store.models import Account, Cancellation, Charge, Product, RefundCase, Subscription
from core.store.privacy import mask_phones_in_text, normalize_phone, phone_index
from core.store.views import ChargeReview, RefundCaseView

REFERENCE_ATTEMPTS = 5
MAX_REASON_LENGTH = 500


def review_charges(ctx: StoreContext, phone: str, days: int = 90) -> list[ChargeReview]:
    """The charges of the last `days` days on `phone`'s account, newest first."""
    phone = normalize_phone(phone)
    if days <= 0:
        raise InvalidArgument("days must be positive")
    now = ctx.now()
    refund_since = now - timedelta(days=ctx.settings.refund_window_days)
    with ctx.transaction() as session:
        rows = session.execute(
            select(Charge, Subscription, Product, Cancellation, RefundCase)
            .join(Subscription, Subscription.id == Charge.subscription_id)
            .join(Product, Product.id == Subscription.product_id)
            .join(Account, Account.id == Subscription.account_id)
            .outerjoin(Cancellation, Cancellation.subscription_id == Subscription.id)
            .outerjoin(RefundCase, RefundCase.charge_id == Charge.id)
            .where(
                Account.phone_index == phone_index(ctx.phones, phone),
                Charge.charged_at >= now - timedelta(days=days),
            )
            .order_by(Charge.charged_at.desc(), Charge.id.desc())
        ).all()
        return [
            ChargeReview(
                charge_id=charge.id,
                product_name=product.name,
                product_code=product.code,
                amount=charge.amount,
                charged_at=charge.charged_at,
                subscription_status=SubscriptionStatus(subscription.status),
                cancelled_at=cancellation.requested_at if cancellation else None,
                after_cancellation=(
                    cancellation is not None and charge.charged_at > cancellation.requested_at
                ),
                within_refund_window=charge.charged_at >= refund_since,
                refund_reference=refund.reference if refund else None,
            )
            for charge, subscription, product, cancellation, refund in rows
        ]


def open_refund_case(
    ctx: StoreContext,
    charge_id: int,
    *,
    phone: str,
    conversation_id: str,
    reason: str,
    channel: Optional[str] = None,
) -> RefundCaseView:
    """Opens a refund case for a charge on `phone`'s account; one case per charge."""
    phone = normalize_phone(phone)
    index = phone_index(ctx.phones, phone)
    # A number typed into the reason is masked: no full phone is stored in the clear.
    reason = mask_phones_in_text((reason or "").strip())[:MAX_REASON_LENGTH]
    for _ in range(REFERENCE_ATTEMPTS):
        now = ctx.now()
        reference = new_reference(REFUND_PREFIX, ctx.local_day(now))
        try:
            with ctx.transaction() as session:
                return _open(
                    session,
                    charge_id,
                    phone,
                    index,
                    conversation_id,
                    reason,
                    now,
                    reference,
                    channel,
                )
        except IntegrityError:
            # A concurrent request opened the case first, or the reference was taken.
            with ctx.transaction() as session:
                existing = _existing_case(session, charge_id)
                taken = session.execute(
                    select(RefundCase.id).where(RefundCase.reference == reference)
                ).first()
            if existing is not None:
                return existing
            if taken is None:
                raise
    raise ReferenceExhausted(f"no free reference after {REFERENCE_ATTEMPTS} attempts")


def _open(
    session: Session,
    charge_id: int,
    phone: str,
    index: str,
    conversation_id: str,
    reason: str,
    now: datetime,
    reference: str,
    channel: Optional[str] = None,
) -> RefundCaseView:
    row = session.execute(
        select(Charge, Product)
        .join(Subscription, Subscription.id == Charge.subscription_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Account, Account.id == Subscription.account_id)
        .where(Charge.id == charge_id, Account.phone_index == index)
    ).one_or_none()
    if row is None:
        raise ChargeNotFound("no such charge on this phone's account")
    existing = _existing_case(session, charge_id)
    if existing is not None:
        return existing
    charge, product = row
    session.add(
        RefundCase(
            reference=reference,
            charge_id=charge.id,
            amount=charge.amount,
            reason=reason,
            status=RefundCaseStatus.OPEN,
            conversation_id=conversation_id,
            created_at=now,
        )
    )
    audit(
        session,
        at=now,
        action="refund_case_opened",
        conversation_id=conversation_id,
        channel=channel,
        phone=phone,
        detail={"charge_id": charge.id, "reference": reference, "amount": str(charge.amount)},
    )
    session.flush()
    return RefundCaseView(reference, charge.amount, product.name, now, True)


def _existing_case(session: Session, charge_id: int) -> Optional[RefundCaseView]:
    row = session.execute(
        select(RefundCase, Product)
        .join(Charge, Charge.id == RefundCase.charge_id)
        .join(Subscription, Subscription.id == Charge.subscription_id)
        .join(Product, Product.id == Subscription.product_id)
        .where(RefundCase.charge_id == charge_id)
    ).one_or_none()
    if row is None:
        return None
    case, product = row
    return RefundCaseView(case.reference, case.amount, product.name, case.created_at, False)
