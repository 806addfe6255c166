"""The redaction rules: mobile numbers are masked, codes and other long digit runs hidden.

Pure functions over text and JSON-like values, shared by the tracker store wrapper, the
log record factory and the subscription store (which masks phones in free text it keeps).
"""

from __future__ import annotations

import re
from typing import Any

# A mainland mobile number in free text, however it was spaced or prefixed.
_SEP = r"[\s\-\u3000]?"
_PHONE_IN_TEXT = re.compile(
    rf"(?<!\d)(?:\+?86{_SEP})?(1{_SEP}[3-9]{_SEP}\d)((?:{_SEP}\d){{4}})((?:{_SEP}\d){{4}})(?!\d)"
)
_NON_DIGIT = re.compile(r"\D")
# Six digits on their own (a verification code), also when typed in two groups of three.
_CODE_IN_TEXT = re.compile(rf"(?<![\d.])\d(?:{_SEP}\d){{5}}(?![\d.])")
# Digits as spoken or as an ASR writes them (幺三八…), or typed full-width, in a long run.
_SPOKEN = "零〇○一幺二两三四五六七八九"
_SPOKEN_VALUES = {
    "零": "0", "〇": "0", "○": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
_SPOKEN_RUN = re.compile(rf"[{_SPOKEN}０-９](?:[\s\-\u3000]?[{_SPOKEN}０-９]){{5,}}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
REDACTED = "[已隐去]"


def mask_phone(phone: str) -> str:
    """'13800138000' -> '138****8000'; anything too short is masked completely."""
    phone = phone.strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_phones_in_text(text: str) -> str:
    """Free text with every mobile number in it masked ('138 0013 8000' -> '138****8000')."""

    def masked(match: re.Match) -> str:
        return f"{_NON_DIGIT.sub('', match.group(1))}****{_NON_DIGIT.sub('', match.group(3))}"

    return _PHONE_IN_TEXT.sub(masked, text)


def _spoken_run(match: re.Match) -> str:
    chars = [c for c in match.group(0) if c in _SPOKEN_VALUES or "０" <= c <= "９"]
    digits = "".join(_SPOKEN_VALUES.get(c) or chr(ord(c) - 0xFEE0) for c in chars)
    if _MOBILE.fullmatch(digits):
        return mask_phone(digits)
    return "*" * len(digits)


def redact_text(text: str) -> str:
    """`text` with phones masked and codes and other spoken or typed digit runs hidden."""
    if not text:
        return text
    text = _SPOKEN_RUN.sub(_spoken_run, text)
    text = mask_phones_in_text(text)
    return _CODE_IN_TEXT.sub("******", text)


# Fields that hold identifiers or names, never user input: redacting a digit run inside a
# message id would break the events that refer to it.
KEEP_KEYS = frozenset(
    {"event", "timestamp", "name", "policy", "confidence", "message_id", "input_channel",
     "intent", "intent_ranking", "action_text", "model_id", "assistant_id"}
)  # fmt: skip


def redact_value(value: Any) -> Any:
    """A JSON-like value with `redact_text` applied to every string in it (keys untouched,
    identifier fields in KEEP_KEYS left as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            key: item if key in KEEP_KEYS else redact_value(item) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    return value
