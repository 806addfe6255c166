"""Moved to core.references (reference numbers are the core's, not only the store's); this
name stays for the tests and tools outside the repository that import it."""

from core.references import (  # noqa: F401
    ALPHABET,
    CANCELLATION_PREFIX,
    HANDOFF_PREFIX,
    PREFIXES,
    RANDOM_LENGTH,
    REFUND_PREFIX,
    check_character,
    is_valid_reference,
    new_reference,
    normalize_reference,
)
