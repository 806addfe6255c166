"""Checks every gateway applies before a message leaves the assistant."""

from __future__ import annotations

from core.phone import is_mobile, mask_phone
from core.sms.base import SmsError


def mask_number(to: str) -> str:
    """Masks a recipient for logs and error messages: 138****8000 (core.phone.mask_phone)."""
    return mask_phone(to) if is_mobile(to) else "<invalid number>"


def check_message(to: str, text: str) -> None:
    """Raises SmsError unless `to` is a Mainland mobile number in its stored form (11 ASCII
    digits, core.phone) and `text` is not blank."""
    if not is_mobile(to):
        raise SmsError("recipient must be 11 ASCII digits starting with 1")
    # The text is never quoted in errors: it may hold a verification code.
    if not isinstance(text, str) or not text.strip():
        raise SmsError(f"message text to {mask_number(to)} is empty")
