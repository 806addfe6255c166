"""Redacting one serialised tracker event before it is stored or published."""

from __future__ import annotations

from typing import Any, Dict

from rasa.shared.core.constants import SESSION_START_METADATA_SLOT

from identity.assertion import METADATA_KEY
from redaction.text import REDACTED, redact_value

# Slots that hold a secret as such: whatever is in them is hidden, not just masked.
SECRET_SLOTS = frozenset({"verification_code"})
# Values the assistant itself writes into secret slots, which carry no secret.
SAFE_SECRET_VALUES = frozenset({"******", REDACTED})
# Message metadata a channel sets to say who the user is: the signed assertion (its payload
# is the phone in base64) and the older plain `identity`. Only the turn that received them
# needs them; no store, broker or later turn may see them.
IDENTITY_METADATA_KEYS = frozenset({METADATA_KEY, "identity"})


def without_identity(value: Any) -> Any:
    """`value` with the identity keys removed from every `metadata` mapping inside it."""
    if isinstance(value, dict):
        return {
            key: (
                {k: without_identity(v) for k, v in item.items() if k not in IDENTITY_METADATA_KEYS}
                if key == "metadata" and isinstance(item, dict)
                else without_identity(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_identity(item) for item in value]
    return value


def redact_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of `event` (as `Event.as_dict()` gives it) without phones, codes or identity
    assertions in it."""
    redacted = without_identity(event)
    if event.get("event") == "slot" and event.get("name") == SESSION_START_METADATA_SLOT:
        # Rasa copies the first message's metadata into this slot when a session starts.
        redacted["value"] = without_identity({"metadata": event.get("value")})["metadata"]
    if event.get("event") == "slot" and event.get("name") in SECRET_SLOTS:
        value = event.get("value")
        if value is not None and value not in SAFE_SECRET_VALUES:
            redacted["value"] = REDACTED
        return redacted
    return redact_value(redacted)
