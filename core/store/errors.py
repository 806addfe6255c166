"""The errors the store raises; callers catch these, never SQLAlchemy's."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by core.store."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the connection; try again later."""


class InvalidPhone(StoreError, ValueError):
    """A phone number is not 11 ASCII digits."""


class InvalidArgument(StoreError, ValueError):
    """An argument is outside what the store accepts (kind, status, days, ...)."""


class ChargeNotFound(StoreError, ValueError):
    """The charge does not exist or is not on the given phone's account."""


class IdempotencyConflict(StoreError, ValueError):
    """An idempotency key was reused for a different subscription."""


class PartnerNotConfigured(StoreError):
    """A subscription is billed through a partner no gateway was given for."""


class ReferenceExhausted(StoreError):
    """No unused reference number was found after several tries (should never happen)."""


class PhoneKeyError(StoreError):
    """A phone encryption or blind-index key is missing, malformed or does not fit the data.

    An operator's error: `setting` names the environment variable to fix.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {problem}")


class TrackerStoreError(StoreError):
    """Rasa's tracker store (TRACKER_STORE_URL) is unreachable or is not a SQL tracker store."""
