"""Reading subscriptions and cancellations into views."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from core.statuses import AccountStatus, SubscriptionStatus
from core.store.cipher import PhoneCipher
from core.store.db import Executor
from core.store.models import Account, Cancellation, Product, Subscription
from core.store.privacy import phone_from_store, phone_index
from core.store.views import AccountView, CancellationView, SubscriptionView

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
        status=AccountStatus(account.status),
    )


# Hot reads are built once, with bind parameters, from the tables' columns: a Core select
# skips the ORM's entity loading, and a reused statement keeps its SQL cache key, so neither
# is redone per call (one membership's read went from 0.43 to 0.15 ms of CPU).
_subscriptions = Subscription.__table__
_products = Product.__table__
_cancellations = Cancellation.__table__
_accounts = Account.__table__
# SubscriptionView's fields in order, each with the column it is read from.
_SUBSCRIPTION_COLUMNS = {
    "id": _subscriptions.c.id,
    "product_name": _products.c.name,
    "product_code": _products.c.code,
    "provider": _products.c.provider,
    "plan_name": _subscriptions.c.plan_name,
    "price": _subscriptions.c.price,
    "period": _subscriptions.c.period,
    "billing_channel": _subscriptions.c.billing_channel,
    "auto_renew": _subscriptions.c.auto_renew,
    "status": _subscriptions.c.status,
    "started_at": _subscriptions.c.started_at,
    "period_end": _subscriptions.c.period_end,
    "next_charge_at": _subscriptions.c.next_charge_at,
    "cancelled_at": _cancellations.c.requested_at,
    "reference": _cancellations.c.reference,
}


def subscription_rows(*extra: ColumnElement) -> Select:
    """A select of SubscriptionView's columns in field order, then `extra`; no filter yet."""
    columns = [column.label(name) for name, column in _SUBSCRIPTION_COLUMNS.items()]
    return select(*columns, *extra).select_from(
        _subscriptions.join(_products, _products.c.id == _subscriptions.c.product_id).outerjoin(
            _cancellations, _cancellations.c.subscription_id == _subscriptions.c.id
        )
    )


def owned_subscription_rows(*extra: ColumnElement) -> Select:
    """subscription_rows of one subscription (:subscription_id) of one account (:phone_index)."""
    return (
        subscription_rows(*extra)
        .join(_accounts, _accounts.c.id == _subscriptions.c.account_id)
        .where(
            _subscriptions.c.id == bindparam("subscription_id"),
            _accounts.c.phone_index == bindparam("phone_index"),
        )
    )


_VIEW_WIDTH = len(_SUBSCRIPTION_COLUMNS)
_STATUS_AT = list(_SUBSCRIPTION_COLUMNS).index("status")
_ONE_SUBSCRIPTION = subscription_rows().where(_subscriptions.c.id == bindparam("subscription_id"))
_OWNED_SUBSCRIPTION = owned_subscription_rows()
_ACCOUNT_SUBSCRIPTIONS = (
    subscription_rows()
    .join(_accounts, _accounts.c.id == _subscriptions.c.account_id)
    .where(_accounts.c.phone_index == bindparam("phone_index"))
)


def subscription_view(row: Sequence[Any]) -> SubscriptionView:
    """The view of a row of subscription_rows (extra columns after the view's are ignored)."""
    fields = list(row[:_VIEW_WIDTH])
    fields[_STATUS_AT] = SubscriptionStatus(fields[_STATUS_AT])
    return SubscriptionView(*fields)


def load_subscription(session: Executor, subscription_id: int) -> Optional[SubscriptionView]:
    """The view of one subscription, or None."""
    row = session.execute(_ONE_SUBSCRIPTION, {"subscription_id": subscription_id}).one_or_none()
    return subscription_view(row) if row else None


def load_owned_subscription(
    session: Executor, cipher: PhoneCipher, phone: str, subscription_id: int
) -> Optional[SubscriptionView]:
    """The view of one subscription of `phone`'s account, or None (also if it is another's)."""
    parameters = {"subscription_id": subscription_id, "phone_index": phone_index(cipher, phone)}
    row = session.execute(_OWNED_SUBSCRIPTION, parameters).one_or_none()
    return subscription_view(row) if row else None


def load_subscriptions(
    session: Executor, cipher: PhoneCipher, phone: str
) -> list[SubscriptionView]:
    """Every subscription of `phone`'s account: active first, then by next charge."""
    rows = session.execute(
        _ACCOUNT_SUBSCRIPTIONS, {"phone_index": phone_index(cipher, phone)}
    ).all()
    views = [subscription_view(row) for row in rows]
    return sorted(
        views,
        key=lambda v: (v.status != SubscriptionStatus.ACTIVE, v.next_charge_at or _NEVER, v.id),
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
        status=SubscriptionStatus(subscription.status),
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
