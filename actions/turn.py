"""What the latest user message says: its intent, its entities, the memberships it names."""

from __future__ import annotations

from typing import List, Optional

from rasa_sdk import Tracker


def latest_entities(tracker: Tracker, entity: str) -> List[str]:
    """Values of `entity` in the latest user message, in order, each once."""
    values: List[str] = []
    for item in tracker.latest_message.get("entities", []) or []:
        if item.get("entity") == entity and item.get("value") not in values:
            values.append(item.get("value"))
    return values


def heard_ambiguously(tracker: Tracker) -> bool:
    """Whether the memberships last named were the candidates of one sound-alike: several
    memberships sound like what was said, and the NLU marks each of them `ambiguous`."""
    found = [
        item
        for item in tracker.latest_message.get("entities", []) or []
        if item.get("entity") == "service"
    ]
    for event in reversed(tracker.events or []):
        if found:
            break
        if event.get("event") == "user":
            entities = (event.get("parse_data") or {}).get("entities") or []
            found = [item for item in entities if item.get("entity") == "service"]
    return any(item.get("ambiguous") for item in found)


def named_services(tracker: Tracker) -> List[str]:
    """The memberships the user named (the `service` slot), as a list."""
    value = tracker.get_slot("service")
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def latest_intent(tracker: Tracker) -> Optional[str]:
    """Name of the latest user message's intent."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_intent_name(tracker: Tracker) -> str:
    """The intent of the latest user message ('' when none)."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""
