"""Mainland mobile numbers: the one parser and the one masker every part of the project uses.

`parse_mobile` reads a number as a person, an operator or a platform writes it (+86 / 0086 /
86 in front, spaces, dashes, dots, brackets, full-width or any script's digits) and returns
the 11 ASCII digits of a mainland mobile number, or None. Spoken digits (幺三八…) are the NLU's
business (nlu/normalize.py): what reaches the parser is already written. Text finders (the
NLU's entity rules, the redaction rules) stay regular expressions, built on MOBILE_PATTERN and
COUNTRY_CODE_PATTERN so they and the parser agree on what a mobile number is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional, overload

# 11 digits, 1 then 3-9: no mainland mobile range starts with 10, 11 or 12.
MOBILE_PATTERN = r"1[3-9][0-9]{9}"
# The country code as written in front of a number: 86, +86, 0086 (and +0086, seen in forms).
COUNTRY_CODE_PATTERN = r"\+?(?:00)?86"
_MOBILE = re.compile(rf"(?:{COUNTRY_CODE_PATTERN})?({MOBILE_PATTERN})")
# Layout only: what people, switches and gateways put between digit groups.
_LAYOUT = frozenset("()[].\u2212\u00a0")
# Longer than any written form of a number: not one (and not worth normalising).
_MAX_CHARS = 64


def _written(char: str) -> str:
    """A character of a written number as the parser reads it: a digit, a plus, or nothing."""
    if char.isspace() or char in _LAYOUT or unicodedata.category(char) == "Pd":
        return ""
    value = unicodedata.decimal(char, None)
    return char if value is None else str(value)


def parse_mobile(value: Any) -> Optional[str]:
    """The 11-digit mainland mobile number `value` is written as, or None when it is not one."""
    if not isinstance(value, str) or len(value) > _MAX_CHARS:
        return None
    compact = "".join(_written(char) for char in unicodedata.normalize("NFKC", value))
    match = _MOBILE.fullmatch(compact)
    return match.group(1) if match else None


def is_mobile(value: Any) -> bool:
    """Whether `value` is already a mobile number in its one stored form (11 ASCII digits)."""
    return isinstance(value, str) and parse_mobile(value) == value


@overload
def mask_phone(phone: str) -> str: ...


@overload
def mask_phone(phone: None) -> None: ...


def mask_phone(phone: Optional[str]) -> Optional[str]:
    """'13800138000' -> '138****8000'; anything shorter than 8 characters is masked completely."""
    if phone is None:
        return None
    phone = phone.strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"
