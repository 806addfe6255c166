"""A tracker store that redacts every event before the store it wraps keeps or publishes it.

endpoints.yml:

    tracker_store:
      type: redaction.tracker_store.RedactingTrackerStore
      store:                # the real tracker store, as Rasa would read it; omitted = in memory
        type: sql
        dialect: postgresql
        ...

The wrapped store also feeds the event broker, so published events are redacted too. The
tracker a turn works on stays complete in memory until the turn ends; what is read back on
the next turn is the redacted copy, which is why actions never rely on a full phone number
or a code kept in a slot. Events read back are known to be redacted and are not redacted
again; so a store that already held unredacted conversations before this wrapper was put in
front of it must be cleared of them (docs/retention.md), not relied on to be rewritten.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Dict, Iterable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from redaction import logs
from redaction.events import redact_event

logger = logging.getLogger(__name__)


# Set on the event objects read back from the wrapped store, which only ever receives
# redacted events: a turn then redacts only its own new events, not the whole conversation
# again (Rasa does not change an event once created; a changed copy is a new object).
_CLEAN = "_redaction_clean"


def mark_clean(events: Iterable[Event]) -> None:
    """Marks events as holding nothing to redact, so saving them again skips the work."""
    for event in events:
        setattr(event, _CLEAN, True)


def redacted_copy(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """A tracker holding the same events, each redacted.

    Stores and brokers read only a tracker's id and events, so the copy is not replayed into
    slots; events with nothing to redact are shared, not copied.
    """
    events = []
    for event in tracker.events:
        if getattr(event, _CLEAN, False):
            events.append(event)
            continue
        data = event.as_dict()
        redacted = redact_event(data)
        events.append(event if redacted == data else Event.from_parameters(redacted))
    copy = DialogueStateTracker(tracker.sender_id, domain.slots, tracker._max_event_history)
    copy.events = deque(events, maxlen=tracker._max_event_history)
    copy.model_id = tracker.model_id
    copy.assistant_id = tracker.assistant_id
    return copy


class RedactingTrackerStore(TrackerStore):
    """Wraps the configured tracker store; only redacted events get through to it."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        store: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        """Creates the wrapped store from `store` (Rasa's own tracker store settings)."""
        # Whoever configures this store wants nothing personal in the logs either.
        logs.install()
        inner_config = EndpointConfig.from_dict(store) if store else None
        self._inner = create_tracker_store(inner_config, domain, event_broker)
        super().__init__(domain, event_broker)
        logger.info("tracker store: redacting, wrapping %s", type(self._inner).__name__)

    @property
    def inner(self) -> TrackerStore:
        """The wrapped tracker store."""
        return self._inner

    @property
    def domain(self) -> Domain:
        """The domain, shared with the wrapped store."""
        return self._inner.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._inner.domain = domain or Domain.empty()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Saves (and so publishes) a redacted copy of `tracker`."""
        await self._inner.save(redacted_copy(tracker, self.domain))

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The stored, redacted tracker."""
        return _clean(await self._inner.retrieve(sender_id))

    async def retrieve_full_tracker(
        self, conversation_id: str
    ) -> Optional[DialogueStateTracker]:
        """The stored, redacted tracker with all sessions."""
        return _clean(await self._inner.retrieve_full_tracker(conversation_id))

    async def keys(self) -> Iterable[str]:
        """Conversation ids in the wrapped store."""
        return await self._inner.keys()

    async def exists(self, conversation_id: str) -> bool:
        """Whether the wrapped store has this conversation."""
        return await self._inner.exists(conversation_id)


def _clean(tracker: Optional[DialogueStateTracker]) -> Optional[DialogueStateTracker]:
    """`tracker` as read back from the wrapped store, its events marked clean."""
    if tracker is not None:
        mark_clean(tracker.events)
    return tracker
