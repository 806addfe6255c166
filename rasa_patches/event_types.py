"""Finding an event's class by its type name once, not on every event read.

Rasa 3.6's `Event.resolve_by_type` walks every subclass of `Event` (with `inspect.isabstract`
on each) for every event it deserialises: reading a tracker back from the store, or copying
one, cost ~1 ms per event here, a quarter of a turn's CPU. A found class never changes, so it
is remembered by type name; unknown names still go through Rasa's own lookup (and errors).
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from rasa.shared.core.events import Event

_original = Event.resolve_by_type
_known: Dict[str, Type[Event]] = {}


def resolve_by_type(
    type_name: str, default: Optional[Type[Event]] = None
) -> Optional[Type[Event]]:
    """Rasa's `Event.resolve_by_type`, remembering what it found."""
    found = _known.get(type_name)
    if found is not None:
        return found
    resolved = _original(type_name, default)  # unknown names: Rasa's default or error
    if resolved is not None and getattr(resolved, "type_name", None) == type_name:
        _known[type_name] = resolved
    return resolved


def apply() -> None:
    """Replaces the static method on Rasa's Event."""
    Event.resolve_by_type = staticmethod(resolve_by_type)
