"""Reading subscriptions and cancellations into views."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from actions.store.cipher import PhoneCipher
from actions.store.models import Account, Cancellation, Product, Subscription
from actions.store.privacy import phone_from_store, phone_index
from actions.store.views import AccountView, CancellationView, SubscriptionView

# Sorts subscriptions without a next charge after those with one.
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def find_account(session: Session, cipher: PhoneCipher, phone: str) -> Optional[Account]:
    """The account of `phone`, or None."""
    return session.execute(
        select(Account).where(Account.phone_index == phone_index(cipher, phone))
    ).scalar_one_or_none()


def account_view(cipher: PhoneCipher, account: Account) -> AccountView:
    """The view of an account row."""
    return AccountView(
        phone=phone_from_store(cipher, account.phone_ciphertext),
        holder_name=account.holder_name,
        status=account.status,
    )


def _subscription_rows() -> Select:
    return (
        select(Subscription, Product, Cancellation)
        .join(Product, Product.id == Subscription.product_id)
        .outerjoin(Cancellation, Cancellation.subscription_id == Subscription.id)
    )


def subscription_view(
    subscription: Subscription, product: Product, cancellation: Optional[Cancellation]
) -> SubscriptionView:
    """The view of a subscription row with its product and cancellation."""
    return SubscriptionView(
        id=subscription.id,
        product_name=product.name,
        product_code=product.code,
        provider=product.provider,
        plan_name=subscription.plan_name,
        price=subscription.price,
        period=subscription.period,
        billing_channel=subscription.billing_channel,
        auto_renew=subscription.auto_renew,
        status=subscription.status,
        started_at=subscription.started_at,
        period_end=subscription.period_end,
        next_charge_at=subscription.next_charge_at,
        cancelled_at=cancellation.requested_at if cancellation else None,
        reference=cancellation.reference if cancellation else None,
    )


def load_subscription(session: Session, subscription_id: int) -> Optional[SubscriptionView]:
    """The view of one subscription, or None."""
    row = session.execute(
        _subscription_rows().where(Subscription.id == subscription_id)
    ).one_or_none()
    return subscription_view(*row) if row else None


def load_subscriptions(session: Session, cipher: PhoneCipher, phone: str) -> list[SubscriptionView]:
    """Every subscription of `phone`'s account: active first, then by next charge."""
    rows = session.execute(
        _subscription_rows()
        .join(Account, Account.id == Subscription.account_id)
        .where(Account.phone_index == phone_index(cipher, phone))
    ).all()
    views = [subscription_view(*row) for row in rows]
    return sorted(
        views,
        key=lambda v: (v.status != "active", v.next_charge_at or _NEVER, v.id),
    )


def _cancellation_rows() -> Select:
    return (
        select(Cancellation, Subscription, Product, Account)
        .join(Subscription, Subscription.id == Cancellation.subscription_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Account, Account.id == Subscription.account_id)
    )


def cancellation_view(
    cipher: PhoneCipher,
    cancellation: Cancellation,
    subscription: Subscription,
    product: Product,
    account: Account,
) -> CancellationView:
    """The view of a cancellation row with what it refers to."""
    return CancellationView(
        reference=cancellation.reference,
        product_name=product.name,
        phone=phone_from_store(cipher, account.phone_ciphertext),
        channel=cancellation.channel,
        requested_at=cancellation.requested_at,
        effective_until=cancellation.effective_until,
        status=subscription.status,
        reason=cancellation.reason,
    )


def load_cancellation(
    session: Session, cipher: PhoneCipher, reference: str
) -> Optional[CancellationView]:
    """The cancellation with `reference`, or None."""
    row = session.execute(
        _cancellation_rows().where(Cancellation.reference == reference)
    ).one_or_none()
    return cancellation_view(cipher, *row) if row else None


def load_cancellations(session: Session, cipher: PhoneCipher, phone: str) -> list[CancellationView]:
    """Every cancellation of `phone`'s account, newest first."""
    rows = session.execute(
        _cancellation_rows()
        .where(Account.phone_index == phone_index(cipher, phone))
        .order_by(Cancellation.requested_at.desc(), Cancellation.id.desc())
    ).all()
    return [cancellation_view(cipher, *row) for row in rows]
