"""Every status the core keeps or answers with, as str-valued enums.

A member is its string: it equals, hashes and prints as the value the database holds and the
views carried before (so `view.status == "active"` and JSON exports are unchanged, and no
migration was needed). The database's CHECK constraints are built from these (store/models.py).
"""

from __future__ import annotations

from enum import Enum
from typing import Tuple, Type


class Status(str, Enum):
    """A status that is its string value: compared, hashed, printed and stored as it."""

    # Enum hashes by name: a member must find the value's entry in a dict or set of strings.
    __hash__ = str.__hash__

    def __str__(self) -> str:
        return str.__str__(self)


def values(status: Type[Status]) -> Tuple[str, ...]:
    """The string values of a status, in declaration order (for CHECK constraints and messages)."""
    return tuple(member.value for member in status)


class AccountStatus(Status):
    """An account: in good standing, or in arrears (欠费停机)."""

    ACTIVE = "active"
    ARREARS = "arrears"


class SubscriptionStatus(Status):
    """A membership: still renewing, or cancelled."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


class ChargeStatus(Status):
    """A charge taken: always settled (the store keeps no pending charges)."""

    SETTLED = "settled"


class RefundCaseStatus(Status):
    """A refund case filed for review (refund cases are never closed by the assistant)."""

    OPEN = "open"


class TicketStatus(Status):
    """A handoff ticket for a human agent (closed by the agents' own tools)."""

    OPEN = "open"


class SmsKind(Status):
    """Why an SMS was sent."""

    VERIFICATION = "verification"
    RECEIPT = "receipt"
    REFUND = "refund"
    HANDOFF = "handoff"
    OTHER = "other"


class SmsStatus(Status):
    """Whether the gateway took an SMS."""

    SENT = "sent"
    FAILED = "failed"


class SessionMethod(Status):
    """How a verified session was opened: a code the store checked, or a signed assertion."""

    CODE = "code"
    ASSERTION = "assertion"


class CodeIssueStatus(Status):
    """The answer to a request for a verification code; READY only in a CodeState (one could
    be sent now, none was)."""

    ISSUED = "issued"
    READY = "ready"
    TOO_SOON = "too_soon"
    HOURLY_LIMIT = "hourly_limit"
    DAILY_LIMIT = "daily_limit"
    SOURCE_LIMIT = "source_limit"
    LOCKED = "locked"


class CodeCheckStatus(Status):
    """The answer to a code typed by the user."""

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CODE = "no_code"


class CancelStatus(Status):
    """The answer to a cancellation request."""

    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_FOUND = "not_found"
    APP_STORE = "app_store"
    PARTNER_FAILED = "partner_failed"
    PARTNER_TIMEOUT = "partner_timeout"
