"""Redacting one serialised tracker event before it is stored or published."""

from __future__ import annotations

from typing import Any, Dict

from rasa.shared.core.constants import SESSION_START_METADATA_SLOT

from core.identity.assertion import METADATA_KEY
from redaction.text import REDACTED, redact_value

# Slots that hold a secret as such: whatever is in them is hidden, not just masked.
SECRET_SLOTS = frozenset({"verification_code"})
# Values the assistant itself writes into secret slots, which carry no secret.
SAFE_SECRET_VALUES = frozenset({"******", REDACTED})
# Message metadata a channel sets to say who the user is: the signed assertion (its payload
# is the phone in base64) and the older plain `identity`. Only the turn that received them
# needs them; no store, broker or later turn may see them.
IDENTITY_METADATA_KEYS = frozenset({METADATA_KEY, "identity"})


def _clean_metadata(metadata: Any) -> Any:
    if isinstance(metadata, dict) and not IDENTITY_METADATA_KEYS.isdisjoint(metadata):
        return {k: v for k, v in metadata.items() if k not in IDENTITY_METADATA_KEYS}
    return metadata


def without_identity(event: Dict[str, Any]) -> Dict[str, Any]:
    """`event` without the identity keys in its metadata (an event's own, and the copy in a
    user event's `parse_data`); the event itself when it holds none, as most do.

    A token quoted anywhere else is a string, hidden by the text rules (redact_assertions).
    """
    out = event
    metadata = event.get("metadata")
    cleaned = _clean_metadata(metadata)
    if cleaned is not metadata:
        out = {**out, "metadata": cleaned}
    parse_data = event.get("parse_data")
    if isinstance(parse_data, dict):
        metadata = parse_data.get("metadata")
        cleaned = _clean_metadata(metadata)
        if cleaned is not metadata:
            out = {**out, "parse_data": {**parse_data, "metadata": cleaned}}
    return out


def redact_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of `event` (as `Event.as_dict()` gives it) without phones, codes or identity
    assertions in it."""
    redacted = dict(without_identity(event))  # a copy of its own: values are set below
    if event.get("event") == "slot" and event.get("name") == SESSION_START_METADATA_SLOT:
        # Rasa copies the first message's metadata into this slot when a session starts.
        redacted["value"] = without_identity({"metadata": event.get("value")})["metadata"]
    if event.get("event") == "slot" and event.get("name") in SECRET_SLOTS:
        value = event.get("value")
        if value is not None and value not in SAFE_SECRET_VALUES:
            redacted["value"] = REDACTED
        return redacted
    return redact_value(redacted)
