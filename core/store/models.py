"""The store's tables; the rules that must never break are constraints in the schema."""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    event,
    false,
)
from sqlalchemy.orm import declarative_base

from core.statuses import (
    AccountStatus,
    ChargeStatus,
    RefundCaseStatus,
    SessionMethod,
    SmsKind,
    SmsStatus,
    SubscriptionStatus,
    TicketStatus,
    values,
)
from core.store import append_only
from core.store.types import Money, UTCDateTime

# Explicit constraint names, so migrations and the models name them the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)

ACCOUNT_STATUSES = values(AccountStatus)
PERIODS = ("month", "quarter", "year")
BILLING_CHANNELS = ("phone_bill", "alipay", "wechat", "app_store")
PARTNER_CHANNELS = ("alipay", "wechat")
SUBSCRIPTION_STATUSES = values(SubscriptionStatus)
SMS_KINDS = values(SmsKind)
SMS_STATUSES = values(SmsStatus)
SESSION_METHODS = values(SessionMethod)
# A channel's client key is a hex HMAC-SHA256 (64); longer values are cut by the store.
CLIENT_KEY_LENGTH = 64


# A phone is kept as a Fernet token (encrypted, never compared) and a blind index (hex
# HMAC-SHA256, compared in look-ups); core.store.privacy reads and writes both.
PHONE_CIPHERTEXT_LENGTH = 255
PHONE_INDEX_LENGTH = 64
# Every Fernet token starts with its version byte 0x80, "gA" in base64: a plain number cannot.
PHONE_ENCRYPTED = "phone_ciphertext LIKE 'gA%'"
PHONE_INDEXED = f"length(phone_index) = {PHONE_INDEX_LENGTH}"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _phone_checks() -> tuple[CheckConstraint, CheckConstraint]:
    return (
        CheckConstraint(PHONE_ENCRYPTED, name="phone_encrypted"),
        CheckConstraint(PHONE_INDEXED, name="phone_indexed"),
    )


class Account(Base):
    """A mobile account, found by its phone number's blind index."""

    __tablename__ = "accounts"

    id = Column(Integer, primary_key=True)
    phone_ciphertext = Column(String(PHONE_CIPHERTEXT_LENGTH), nullable=False)
    phone_index = Column(String(PHONE_INDEX_LENGTH), nullable=False, unique=True)
    holder_name = Column(String(64), nullable=False)
    status = Column(String(16), nullable=False, default=AccountStatus.ACTIVE.value)

    __table_args__ = (
        CheckConstraint(_one_of("status", ACCOUNT_STATUSES), name="status"),
        *_phone_checks(),
    )


class Product(Base):
    """A membership product from the catalog."""

    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    code = Column(String(64), nullable=False, unique=True)
    name = Column(String(64), nullable=False, unique=True)
    provider = Column(String(64), nullable=False)
    aliases = Column(JSON, nullable=False)


class Subscription(Base):
    """An auto-renewing membership of an account."""

    __tablename__ = "subscriptions"

    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    product_id = Column(ForeignKey("products.id"), nullable=False)
    plan_name = Column(String(32), nullable=False)
    price = Column(Money, nullable=False)
    period = Column(String(16), nullable=False)
    billing_channel = Column(String(16), nullable=False)
    partner_agreement_id = Column(String(64), nullable=True)
    auto_renew = Column(Boolean, nullable=False)
    status = Column(String(16), nullable=False)
    started_at = Column(UTCDateTime, nullable=False)
    period_end = Column(UTCDateTime, nullable=False)
    next_charge_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint(_one_of("period", PERIODS), name="period"),
        CheckConstraint(_one_of("billing_channel", BILLING_CHANNELS), name="billing_channel"),
        CheckConstraint(_one_of("status", SUBSCRIPTION_STATUSES), name="status"),
        # A partner subscription cannot be cancelled without its agreement id.
        CheckConstraint(
            "billing_channel NOT IN ('alipay', 'wechat') OR partner_agreement_id IS NOT NULL",
            name="partner_agreement",
        ),
    )


class Charge(Base):
    """Money taken for a subscription."""

    __tablename__ = "charges"

    id = Column(Integer, primary_key=True)
    subscription_id = Column(ForeignKey("subscriptions.id"), nullable=False, index=True)
    amount = Column(Money, nullable=False)
    charged_at = Column(UTCDateTime, nullable=False)
    status = Column(String(16), nullable=False, default=ChargeStatus.SETTLED.value)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("status", values(ChargeStatus)), name="status"),
    )


class Cancellation(Base):
    """A completed cancellation; one per subscription, so a double is impossible."""

    __tablename__ = "cancellations"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    subscription_id = Column(ForeignKey("subscriptions.id"), nullable=False, unique=True)
    idempotency_key = Column(String(128), nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    reason = Column(Text, nullable=True)
    requested_at = Column(UTCDateTime, nullable=False)
    effective_until = Column(UTCDateTime, nullable=False)


class VerificationChallenge(Base):
    """An SMS code sent to a phone; only its keyed hash is kept."""

    __tablename__ = "verification_challenges"

    id = Column(Integer, primary_key=True)
    phone_ciphertext = Column(String(PHONE_CIPHERTEXT_LENGTH), nullable=False)
    phone_index = Column(String(PHONE_INDEX_LENGTH), nullable=False)
    code_hash = Column(String(64), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    consumed_at = Column(UTCDateTime, nullable=True)
    # Where the request came from, for the per-source ceilings: the channel's keyed hash of
    # the client's address (None when the channel gives none; then only the conversation
    # counts), and whether it was an IVR caller asking for a code to their own line (counted
    # against that line's own ceiling, so strangers elsewhere cannot use it up).
    client_key = Column(String(CLIENT_KEY_LENGTH), nullable=True)
    own_line = Column(Boolean, nullable=False, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        *_phone_checks(),
        Index(None, "phone_index", "created_at"),
        # conversation_phone finds a conversation's challenges by it on every form step.
        Index(None, "conversation_id"),
        Index(None, "client_key", "created_at"),
    )


class VerifiedSession(Base):
    """A conversation whose user proved a phone: the only thing actions trust for identity.

    Created with a code the store checked (method 'code') or from a channel assertion that
    proves the phone (method 'assertion'); ended after VERIFIED_IDLE_SECONDS without use.
    """

    __tablename__ = "verified_sessions"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, unique=True)
    # The namespace of the conversation id (core.identity.conversation.channel_of); None for ids
    # from before namespacing.
    channel = Column(String(16), nullable=True)
    phone_ciphertext = Column(String(PHONE_CIPHERTEXT_LENGTH), nullable=False)
    phone_index = Column(String(PHONE_INDEX_LENGTH), nullable=False, index=True)
    method = Column(String(16), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(_one_of("method", SESSION_METHODS), name="method"),
        *_phone_checks(),
    )


class ConversationPhone(Base):
    """The number the user of a conversation gave last, whether or not a code went out to it.

    Conversations keep only the masked number; actions get the real one back from here (or
    from the conversation's last code) to send a code later (重新发送). Proves nothing.
    """

    __tablename__ = "conversation_phones"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, unique=True)
    phone_ciphertext = Column(String(PHONE_CIPHERTEXT_LENGTH), nullable=False)
    phone_index = Column(String(PHONE_INDEX_LENGTH), nullable=False, index=True)
    given_at = Column(UTCDateTime, nullable=False)

    __table_args__ = _phone_checks()


class VerificationLock(Base):
    """A phone locked out of verification after too many wrong codes.

    No longer written (revision 0005): a lockout now belongs to the conversation whose code
    was guessed (its burnt challenge), never to the number everywhere. Kept so a downgrade
    and the retention clean-up of old rows still work.
    """

    __tablename__ = "verification_locks"

    id = Column(Integer, primary_key=True)
    phone_ciphertext = Column(String(PHONE_CIPHERTEXT_LENGTH), nullable=False)
    phone_index = Column(String(PHONE_INDEX_LENGTH), nullable=False, unique=True)
    locked_until = Column(UTCDateTime, nullable=False)

    __table_args__ = _phone_checks()


class RefundCase(Base):
    """A refund request for one charge, handled by the operator's back office."""

    __tablename__ = "refund_cases"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    charge_id = Column(ForeignKey("charges.id"), nullable=False, unique=True)
    amount = Column(Money, nullable=False)
    reason = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=RefundCaseStatus.OPEN.value)
    conversation_id = Column(String(128), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("status", values(RefundCaseStatus)), name="status"),
    )


class HandoffTicket(Base):
    """A conversation handed to a human agent."""

    __tablename__ = "handoff_tickets"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    phone_masked = Column(String(32), nullable=True)
    summary = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=TicketStatus.OPEN.value)
    created_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (CheckConstraint(_one_of("status", values(TicketStatus)), name="status"),)


class SmsMessage(Base):
    """That an SMS was sent or failed; never its text (it may hold a code)."""

    __tablename__ = "sms_messages"

    id = Column(Integer, primary_key=True)
    phone_masked = Column(String(32), nullable=False)
    kind = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False)
    error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(_one_of("kind", SMS_KINDS), name="kind"),
        CheckConstraint(_one_of("status", SMS_STATUSES), name="status"),
    )


class AuditEvent(Base):
    """Who did what to which account, with the phone masked."""

    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    conversation_id = Column(String(128), nullable=True)
    channel = Column(String(32), nullable=True)
    action = Column(String(64), nullable=False)
    phone_masked = Column(String(32), nullable=True)
    detail = Column(JSON, nullable=False)


# Schemas built from the models (metadata.create_all) get the same triggers as migration 0003.
for _dialect in ("sqlite", "postgresql"):
    for _statement in append_only.create_statements(_dialect):
        event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
