"""Checks every gateway applies before a message leaves the assistant."""

from __future__ import annotations

import re

from core.sms.base import SmsError

# Explicit [0-9]: `\d` would also accept full-width and other Unicode digits.
_MOBILE_NUMBER = re.compile(r"1[0-9]{10}")


def mask_number(to: str) -> str:
    """Masks a mobile number for logs and error messages: 138****8000."""
    if len(to) == 11:
        return f"{to[:3]}****{to[-4:]}"
    return "<invalid number>"


def check_message(to: str, text: str) -> None:
    """Raises SmsError unless `to` is a Mainland mobile number and `text` is not blank."""
    if not isinstance(to, str) or _MOBILE_NUMBER.fullmatch(to) is None:
        raise SmsError("recipient must be 11 ASCII digits starting with 1")
    # The text is never quoted in errors: it may hold a verification code.
    if not isinstance(text, str) or not text.strip():
        raise SmsError(f"message text to {mask_number(to)} is empty")
