"""The subscription store: accounts, memberships, verification, cancellations, refunds.

Importing this package does nothing but define names; `build_service` creates the engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping, Optional

from catalog import load_catalog
from core.partners.base import PartnerGateway
from core.phone import mask_phone
from core.references import (
    check_character,
    is_valid_reference,
    new_reference,
    normalize_reference,
)
from core.settings import Settings
from core.store.cipher import PhoneCipher, load_phone_cipher
from core.store.db import (
    MigratingSessionFactory,
    make_engine,
    make_session_factory,
    unit_of_work,
    upgrade_schema,
)
from core.store.errors import (
    ChargeNotFound,
    IdempotencyConflict,
    InvalidArgument,
    InvalidPhone,
    PartnerNotConfigured,
    PhoneKeyError,
    ReferenceExhausted,
    StoreError,
    StoreUnavailable,
)
from core.store.services import SubscriptionService
from core.store.views import (
    AccountView,
    CancellationView,
    CancelOutcome,
    ChargeReview,
    CodeCheck,
    CodeIssue,
    RefundCaseView,
    SubscriptionView,
    TicketView,
)

__all__ = [
    "AccountView",
    "CancelOutcome",
    "CancellationView",
    "ChargeNotFound",
    "ChargeReview",
    "CodeCheck",
    "CodeIssue",
    "IdempotencyConflict",
    "InvalidArgument",
    "InvalidPhone",
    "PartnerNotConfigured",
    "PhoneCipher",
    "PhoneKeyError",
    "RefundCaseView",
    "ReferenceExhausted",
    "StoreError",
    "StoreUnavailable",
    "SubscriptionService",
    "SubscriptionView",
    "TicketView",
    "build_service",
    "check_character",
    "is_valid_reference",
    "load_phone_cipher",
    "make_engine",
    "make_session_factory",
    "mask_phone",
    "new_reference",
    "normalize_reference",
    "unit_of_work",
    "upgrade_schema",
]


def build_service(
    settings: Settings,
    partners: Optional[Mapping[str, PartnerGateway]] = None,
    clock: Optional[Callable[[], datetime]] = None,
) -> SubscriptionService:
    """A service on settings.store_url; the schema is upgraded to head on its first use.

    The phone keys are read (and checked for form) here: a bad key raises PhoneKeyError.
    """
    cipher = load_phone_cipher(settings)
    engine = make_engine(settings.store_url)
    return SubscriptionService(
        session_factory=MigratingSessionFactory(engine, cipher),
        catalog=load_catalog(settings.catalog_path),
        settings=settings,
        partners=partners,
        clock=clock,
        phone_cipher=cipher,
    )
