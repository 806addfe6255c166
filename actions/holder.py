"""Who the user is: the channel's assertion, the store's verified session, the phone given.

Identity is the store's: a conversation is verified while the store holds a fresh session
for it (opened by a code the store checked, or by a signed channel assertion that proves the
phone). Slots keep only the masked number for wording; `input_channel`, slots and metadata
never authorise anything.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import ask
from actions.outage import store_busy
from actions.proxy import explain_before_prompt
from actions.runtime import Runtime, get_runtime
from core.identity import assertion as assertions
from core.phone import mask_phone, parse_mobile
from core.store.errors import StoreUnavailable

# How long one answer of the store about this conversation's session is reused within an
# action call (a form step asks several times); a proof or an end forgets it at once.
_SESSION_REUSE_SECONDS = 1.0
_IDENTITY_CACHE = "_store_identity"


def clean_phone(value: Any) -> Optional[str]:
    """The 11-digit mobile number in `value`, or None when it is not one (core.phone)."""
    return parse_mobile(value)


def _latest_user_event(tracker: Tracker) -> Optional[Dict[str, Any]]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return None


def _latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    event = _latest_user_event(tracker)
    metadata = (event or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def assertion_token(tracker: Tracker) -> Optional[object]:
    """The signed channel assertion the latest message carries (unverified), if any."""
    return _latest_metadata(tracker).get(assertions.METADATA_KEY)


def client_key(tracker: Tracker) -> Optional[str]:
    """The channel's keyed hash of the client address (per-source ceilings), if it gave one."""
    value = _latest_metadata(tracker).get(assertions.CLIENT_KEY)
    return value if isinstance(value, str) and value else None


def channel_identity(tracker: Tracker, runtime: Runtime) -> Optional[assertions.Assertion]:
    """The channel's verified assertion for this very conversation, or None.

    An IVR caller id only says where to send a code; an SMS sender proves the phone (the
    store opens a session from it, see verified_phone).
    """
    token = assertion_token(tracker)
    if token is None:
        return None
    try:
        found = assertions.verify(
            runtime.settings.channel_assertion_key,
            token,
            conversation_id=tracker.sender_id,
            now=runtime.epoch(),
        )
    except assertions.InvalidAssertion:
        return None
    return found if clean_phone(found.phone) == found.phone else None


def _cache(tracker: Tracker) -> Dict[str, Any]:
    return tracker.__dict__.setdefault(_IDENTITY_CACHE, {})


def forget_identity(tracker: Tracker) -> None:
    """Drops what this action call remembered of the session (after a proof or an end)."""
    _cache(tracker).pop("session", None)


def verified_phone(tracker: Tracker, runtime: Runtime) -> Optional[str]:
    """The phone the store's session for this conversation holds, while it is fresh.

    A proving channel assertion in the latest message (an SMS sender's) is handed to the
    store, which verifies it and opens the session. Nothing in the tracker is trusted.
    """
    cache = _cache(tracker)
    token = assertion_token(tracker)
    if token is not None and cache.get("assertion") != token:
        cache["assertion"] = token
        if runtime.store.open_session_from_assertion(tracker.sender_id, token) is not None:
            cache.pop("session", None)
    now = runtime.epoch()
    known = cache.get("session")
    if known is None or not 0 <= now - known[0] < _SESSION_REUSE_SECONDS:
        known = (now, runtime.store.session_phone(tracker.sender_id))
        cache["session"] = known
    return known[1]


def pending_phone(tracker: Tracker, runtime: Runtime) -> Optional[str]:
    """The full number behind the `phone_number` slot (which keeps only the masked one)."""
    value = tracker.get_slot("phone_number")
    if not isinstance(value, str) or not value:
        return None
    typed = clean_phone(value)
    if typed is not None:
        return typed  # given in this very message, not yet masked
    # Read once per action call and slot value: a step that sends a code reads it again.
    cache = _cache(tracker).setdefault("pending", {})
    if value not in cache:
        cache[value] = runtime.store.conversation_phone(tracker.sender_id)
    phone = cache[value]
    if phone is None or mask_phone(phone) != value:
        return None
    return phone


def touch_verification(tracker: Tracker, runtime: Runtime) -> List[EventType]:
    """Notes the last verified activity in the slot (a cache: the store's session decides)."""
    if verified_phone(tracker, runtime):
        return [SlotSet("verified_at", runtime.epoch())]
    return []


def answer_for_holder(
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    goal: str,
    ask_response: str,
    answer: Callable[[str, Runtime], None],
) -> List[EventType]:
    """Answers with the verified holder's data, or asks for the phone and remembers the goal."""
    runtime = get_runtime()
    phone = verified_phone(tracker, runtime)
    if not phone:
        events = explain_before_prompt(tracker, dispatcher)
        ask(dispatcher, tracker, ask_response)
        return events + [SlotSet("goal", goal)]
    try:
        answer(phone, runtime)
    except StoreUnavailable:
        store_busy(dispatcher)
    return touch_verification(tracker, runtime)
