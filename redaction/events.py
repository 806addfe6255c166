"""Redacting one serialised tracker event before it is stored or published."""

from __future__ import annotations

from typing import Any, Dict

from redaction.text import REDACTED, redact_value

# Slots that hold a secret as such: whatever is in them is hidden, not just masked.
SECRET_SLOTS = frozenset({"verification_code"})
# Values the assistant itself writes into secret slots, which carry no secret.
SAFE_SECRET_VALUES = frozenset({"******", REDACTED})


def redact_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of `event` (as `Event.as_dict()` gives it) without phones or codes in it."""
    redacted = dict(event)
    if event.get("event") == "slot" and event.get("name") in SECRET_SLOTS:
        value = event.get("value")
        if value is not None and value not in SAFE_SECRET_VALUES:
            redacted["value"] = REDACTED
        return redacted
    return redact_value(redacted)
