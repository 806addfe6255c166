"""What the store hands out: frozen snapshots, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Optional

from core.statuses import (
    AccountStatus,
    CancelStatus,
    CodeCheckStatus,
    CodeIssueStatus,
    SubscriptionStatus,
    TicketStatus,
)


@dataclass(frozen=True)
class AccountView:
    """A mobile account."""

    phone: str
    holder_name: str
    status: AccountStatus


@dataclass(frozen=True)
class SubscriptionView:
    """A membership of an account, with its cancellation if it has one."""

    id: int
    product_name: str
    product_code: str
    provider: str
    plan_name: str
    price: Decimal
    period: str  # 'month' | 'quarter' | 'year'
    billing_channel: str  # 'phone_bill' | 'alipay' | 'wechat' | 'app_store'
    auto_renew: bool
    status: SubscriptionStatus
    started_at: datetime
    period_end: datetime
    next_charge_at: Optional[datetime]
    cancelled_at: Optional[datetime]
    reference: Optional[str]


@dataclass(frozen=True)
class CodeIssue:
    """The answer to a request for a verification code; the caller sends `code` by SMS."""

    # ISSUED, or TOO_SOON | LOCKED (here) | HOURLY_LIMIT | DAILY_LIMIT (the number's ceilings)
    # | SOURCE_LIMIT (this conversation's or client's ceiling)
    status: CodeIssueStatus
    code: Optional[str] = field(repr=False)  # kept out of repr so it never reaches a log
    expires_at: Optional[datetime]
    retry_at: Optional[datetime]


@dataclass(frozen=True)
class CodeState:
    """Where a conversation stands with the codes for one phone (nothing issued to learn it)."""

    live: bool  # a code sent here that can still be entered
    # READY (a code may be sent now) or the status issue_code would refuse with
    status: CodeIssueStatus
    retry_at: Optional[datetime]  # when a code may be sent, when not now


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a code the user typed or said."""

    status: CodeCheckStatus
    remaining_attempts: int
    locked_until: Optional[datetime]


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancellation request did."""

    status: CancelStatus
    subscription: Optional[SubscriptionView]
    reference: Optional[str]
    cancelled_at: Optional[datetime]
    effective_until: Optional[datetime]
    # True when this exact request (same idempotency key) had already been carried out.
    repeat: bool = False


@dataclass(frozen=True)
class CancellationView:
    """A completed cancellation, found by its reference number."""

    reference: str
    product_name: str
    phone: str
    channel: str
    requested_at: datetime
    effective_until: datetime
    status: SubscriptionStatus  # the subscription's: CANCELLED
    reason: Optional[str] = None


@dataclass(frozen=True)
class ChargeReview:
    """A recent charge, with what a refund decision needs to know."""

    charge_id: int
    product_name: str
    product_code: str
    amount: Decimal
    charged_at: datetime
    subscription_status: SubscriptionStatus
    cancelled_at: Optional[datetime]
    after_cancellation: bool
    within_refund_window: bool
    refund_reference: Optional[str]


@dataclass(frozen=True)
class RefundCaseView:
    """A refund case; `created` is False when the charge already had one."""

    reference: str
    amount: Decimal
    product_name: str
    created_at: datetime
    created: bool


@dataclass(frozen=True)
class TicketView:
    """A handoff ticket for a human agent."""

    reference: str
    created_at: datetime
    channel: Optional[str] = None
    phone_masked: Optional[str] = None
    summary: Optional[str] = None
    status: Optional[TicketStatus] = None
