"""Reference numbers (TD cancellations, RF refund cases, RG handoff tickets), per the contract.

Shape: prefix + YYYYMMDD + 5 random Crockford Base32 symbols + 1 check symbol. The check
symbol is the symbol of sum(i * v_i for i in 1..13) mod 31 over the 13 characters after the
prefix (a digit is its value, a letter its Crockford value), as fixed by the contract.
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from datetime import date
from typing import Optional

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CANCELLATION_PREFIX = "TD"
REFUND_PREFIX = "RF"
HANDOFF_PREFIX = "RG"
PREFIXES = (CANCELLATION_PREFIX, REFUND_PREFIX, HANDOFF_PREFIX)
RANDOM_LENGTH = 5
# The contract's regex for TD, with the other prefixes in the same shape.
_SHAPE = re.compile(r"^(TD|RF|RG)\d{8}[0-9A-HJKMNP-TV-Z]{6}$")
_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
# Crockford's reading of letters that look like digits; spaces and hyphens are only layout.
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_LAYOUT = re.compile(r"[\s\-]+")
_SYSTEM_RANDOM = secrets.SystemRandom()


def check_character(payload13: str) -> str:
    """The check symbol for the 13 characters after the prefix (8 digits + 5 symbols)."""
    if len(payload13) != 13:
        raise ValueError("the payload of a reference has 13 characters")
    try:
        total = sum(i * _VALUES[ch] for i, ch in enumerate(payload13.upper(), start=1))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not a Crockford Base32 symbol") from exc
    return ALPHABET[total % 31]


def new_reference(prefix: str, day: date, rng: random.Random = _SYSTEM_RANDOM) -> str:
    """A fresh reference for `day` (the caller's local date) with a random part from `rng`."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown reference prefix {prefix!r}")
    payload = day.strftime("%Y%m%d") + "".join(rng.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return prefix + payload + check_character(payload)


def is_valid_reference(s: str, prefix: Optional[str] = None) -> bool:
    """True if `s` is an issued-form reference (upper case) whose check symbol matches."""
    if not isinstance(s, str) or not _SHAPE.fullmatch(s):
        return False
    if prefix is not None and not s.startswith(prefix):
        return False
    return check_character(s[2:15]) == s[15]


def normalize_reference(text: str) -> Optional[str]:
    """The reference a user typed or said, in issued form, or None if it is not shaped like one.

    Full-width characters, spaces and hyphens are dropped, letters upper-cased and O/I/L read
    as 0/1/1. The check symbol is not verified here (see is_valid_reference).
    """
    if not isinstance(text, str):
        return None
    compact = _LAYOUT.sub("", unicodedata.normalize("NFKC", text)).upper()
    if len(compact) < 2:
        return None
    candidate = compact[:2] + compact[2:].translate(_CONFUSABLES)
    return candidate if _SHAPE.fullmatch(candidate) else None
