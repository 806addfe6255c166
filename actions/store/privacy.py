"""Phone numbers: masking for logs and the one place phone columns are read and written.

Every read or write of a phone column goes through `stored_phone` / `phone_from_store`, so
encrypting phones at rest later (deterministically, to keep lookups) is a change here only.
"""

from __future__ import annotations

import re
from typing import Optional

from actions.store.errors import InvalidPhone

_PHONE = re.compile(r"\d{11}")


def normalize_phone(phone: str) -> str:
    """The phone as 11 ASCII digits; raises InvalidPhone otherwise."""
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone.strip()):
        raise InvalidPhone("a phone number must be 11 ASCII digits")
    return phone.strip()


def mask_phone(phone: Optional[str]) -> Optional[str]:
    """'13800138000' -> '138****8000'; anything too short is masked completely."""
    if phone is None:
        return None
    phone = phone.strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def stored_phone(phone: str) -> str:
    """The value written to (and compared with) a phone column for `phone`."""
    return normalize_phone(phone)


def phone_from_store(value: str) -> str:
    """The phone number held in a phone column's `value`."""
    return value
