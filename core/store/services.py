"""SubscriptionService: the narrow API the actions call; one transaction per state change."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping, Optional

from catalog import Catalog
from core.clock import utc_now
from core.partners.base import PartnerGateway
from core.references import normalize_reference
from core.settings import Settings
from core.store import (
    cancellations,
    charges,
    given_phones,
    handoff,
    queries,
    sessions,
    verification,
)
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.context import StoreContext
from core.store.db import SessionFactory
from core.store.inspection import StoreState, store_state
from core.store.privacy import normalize_phone
from core.store.views import (
    AccountView,
    CancellationView,
    CancelOutcome,
    ChargeReview,
    CodeCheck,
    CodeIssue,
    CodeState,
    RefundCaseView,
    SubscriptionView,
    TicketView,
)

MAX_REASON_LENGTH = 500


class SubscriptionService:
    """Accounts, memberships, verification, cancellations, refunds and handoffs."""

    def __init__(
        self,
        session_factory: SessionFactory,
        catalog: Catalog,
        settings: Settings,
        partners: Optional[Mapping[str, PartnerGateway]] = None,
        clock: Optional[Callable[[], datetime]] = None,
        phone_cipher: Optional[PhoneCipher] = None,
    ) -> None:
        self.session_factory = session_factory
        self.catalog = catalog
        self.settings = settings
        # Built here, not per call: a wrong or missing key fails when the service is built.
        self.phone_cipher = load_phone_cipher(settings) if phone_cipher is None else phone_cipher
        self._ctx = StoreContext(
            session_factory=session_factory,
            settings=settings,
            partners=dict(partners or {}),
            clock=clock or utc_now,
            phones=self.phone_cipher,
        )

    def now(self) -> datetime:
        """The service's current time (from the injected clock)."""
        return self._ctx.now()

    # Accounts and memberships

    def account(self, phone: str) -> Optional[AccountView]:
        """The account of `phone`, or None if there is none."""
        with self._ctx.transaction() as session:
            account = queries.find_account(session, self.phone_cipher, normalize_phone(phone))
            return queries.account_view(self.phone_cipher, account) if account else None

    def subscriptions(self, phone: str) -> list[SubscriptionView]:
        """Every membership of `phone`: active first, then by next charge."""
        with self._ctx.core_transaction() as session:
            return queries.load_subscriptions(session, self.phone_cipher, normalize_phone(phone))

    def subscription(self, subscription_id: int) -> Optional[SubscriptionView]:
        """One membership by id, or None."""
        with self._ctx.core_transaction() as session:
            return queries.load_subscription(session, subscription_id)

    def owned_subscription(self, subscription_id: int, phone: str) -> Optional[SubscriptionView]:
        """One membership by id if it is `phone`'s, else None (not found, or another's)."""
        with self._ctx.core_transaction() as session:
            return queries.load_owned_subscription(
                session, self.phone_cipher, normalize_phone(phone), subscription_id
            )

    # Verification

    def issue_code(
        self,
        phone: str,
        conversation_id: str,
        channel: Optional[str] = None,
        *,
        client_key: Optional[str] = None,
        own_line: bool = False,
    ) -> CodeIssue:
        """A new 6-digit code for `phone` unless locked here or over a ceiling; the caller sends it.

        client_key: the channel's keyed hash of the client address (per-client ceilings);
        own_line: an IVR caller asking for their own number (that line's own ceiling).
        """
        return verification.issue_code(
            self._ctx, phone, conversation_id, channel, client_key=client_key, own_line=own_line
        )

    def check_code(
        self, phone: str, code: str, conversation_id: str, channel: Optional[str] = None
    ) -> CodeCheck:
        """Checks a code sent to `phone` in this conversation (single use); ok opens a session."""
        return verification.check_code(self._ctx, phone, code, conversation_id, channel)

    def withdraw_code(
        self, phone: str, conversation_id: str, channel: Optional[str] = None
    ) -> bool:
        """Forgets the code just issued here when its SMS could not be sent."""
        return verification.withdraw_code(self._ctx, phone, conversation_id, channel)

    def code_state(
        self,
        phone: str,
        conversation_id: str,
        *,
        client_key: Optional[str] = None,
        own_line: bool = False,
    ) -> CodeState:
        """Whether a code for `phone` can be entered here, and when a new one may be sent
        (what issue_code would answer now); nothing is issued or written."""
        return verification.code_state(
            self._ctx, phone, conversation_id, client_key=client_key, own_line=own_line
        )

    def remember_conversation_phone(self, conversation_id: str, phone: str) -> None:
        """Keeps the number the user gave in this conversation, encrypted, sent a code or not."""
        given_phones.remember_conversation_phone(self._ctx, conversation_id, phone)

    def conversation_phone(self, conversation_id: str) -> Optional[str]:
        """The number this conversation was given or sent a code to last (no proof)."""
        return given_phones.conversation_phone(self._ctx, conversation_id)

    # Verified sessions: who the user proved to be, owned by the store

    def session_phone(self, conversation_id: str) -> Optional[str]:
        """The phone proved in this conversation while its session is fresh (use refreshes it)."""
        return sessions.session_phone(self._ctx, conversation_id)

    def open_session_from_assertion(self, conversation_id: str, token: object) -> Optional[str]:
        """Verifies a channel assertion; if it proves a phone, opens the session and returns it."""
        return sessions.open_from_assertion(self._ctx, conversation_id, token)

    def end_session(self, conversation_id: str, reason: str = "ended") -> bool:
        """Ends this conversation's verified session (restart, another number)."""
        return sessions.end_session(self._ctx, conversation_id, reason)

    # Cancellations

    def cancel(
        self,
        subscription_id: int,
        *,
        phone: str,
        channel: str,
        conversation_id: str,
        idempotency_key: str,
    ) -> CancelOutcome:
        """Cancels a membership of `phone`; repeating it returns the same reference."""
        return cancellations.cancel(
            self._ctx,
            subscription_id,
            phone=phone,
            channel=channel,
            conversation_id=conversation_id,
            idempotency_key=idempotency_key,
        )

    def record_reason(self, reference: str, reason: str) -> bool:
        """Stores why the user cancelled; False if there is no such cancellation."""
        wanted = normalize_reference(reference)
        if wanted is None:
            return False
        return cancellations.record_reason(self._ctx, wanted, reason, MAX_REASON_LENGTH)

    def cancellation(self, reference: str) -> Optional[CancellationView]:
        """The cancellation with this reference (as typed or said), or None."""
        wanted = normalize_reference(reference)
        if wanted is None:
            return None
        with self._ctx.transaction() as session:
            return queries.load_cancellation(session, self.phone_cipher, wanted)

    def cancellations(self, phone: str) -> list[CancellationView]:
        """Every cancellation of `phone`, newest first."""
        with self._ctx.transaction() as session:
            return queries.load_cancellations(session, self.phone_cipher, normalize_phone(phone))

    # Charges and refunds

    def review_charges(self, phone: str, days: int = 90) -> list[ChargeReview]:
        """The charges of the last `days` days with refund-relevant flags, newest first."""
        return charges.review_charges(self._ctx, phone, days)

    def open_refund_case(
        self,
        charge_id: int,
        *,
        phone: str,
        conversation_id: str,
        reason: str,
        channel: Optional[str] = None,
    ) -> RefundCaseView:
        """Opens (or returns the existing) refund case for a charge of `phone`."""
        return charges.open_refund_case(
            self._ctx,
            charge_id,
            phone=phone,
            conversation_id=conversation_id,
            reason=reason,
            channel=channel,
        )

    # Handoff and SMS records

    def open_handoff(
        self, *, conversation_id: str, channel: str, phone: Optional[str], summary: str
    ) -> TicketView:
        """Opens a ticket for a human agent."""
        return handoff.open_handoff(
            self._ctx,
            conversation_id=conversation_id,
            channel=channel,
            phone=phone,
            summary=summary,
        )

    def handoff_ticket(self, reference: str) -> Optional[TicketView]:
        """The handoff ticket with this reference, or None."""
        return handoff.load_ticket(self._ctx, reference)

    def record_sms(
        self,
        phone: str,
        kind: str,
        status: str,
        error: Optional[str] = None,
        *,
        conversation_id: Optional[str] = None,
        channel: Optional[str] = None,
    ) -> None:
        """Records that an SMS was sent or failed, with the phone masked, and audits it."""
        handoff.record_sms(
            self._ctx, phone, kind, status, error, conversation_id=conversation_id, channel=channel
        )

    # Inspection (read-only, for tests that compare the store before and after a turn)

    def state_of(self, phones: list[str]) -> StoreState:
        """The cancellations and memberships of `phones`, every refund case and ticket."""
        return store_state(self._ctx, phones)
