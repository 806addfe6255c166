"""What an action does when the subscription store cannot be reached: says so, changes nothing.

Reading who the user is now needs the store too (slots keep only masked numbers), so any
action can meet an outage; `store_safe` turns it into "系统繁忙，您的会员尚未取消" instead of
an action server error and a silent bot, and `store_busy` is what a step that catches the
outage itself (to end a form, or to keep going without the store) says and returns.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, Dict, List, Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy_notice import privacy_notice
from core.store.errors import StoreUnavailable

logger = logging.getLogger(__name__)

Run = Callable[[Any, CollectingDispatcher, Tracker, Dict[str, Any]], Awaitable[List[EventType]]]


def store_safe(run: Run) -> Run:
    """Wraps an action's `run`: a store outage is told to the user and ends the step cleanly.

    It also gives the personal-information notice when the action collects a phone.
    """

    @functools.wraps(run)
    async def wrapper(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        try:
            events = await run(self, dispatcher, tracker, domain)
        except StoreUnavailable as exc:
            logger.error("%s: the store is unavailable: %s", self.name(), exc)
            return store_busy(dispatcher)
        return list(events) + privacy_notice(tracker, dispatcher)

    return wrapper


def store_busy(
    dispatcher: CollectingDispatcher, events: Sequence[EventType] = ()
) -> List[EventType]:
    """Tells the user the system is busy (nothing was changed) and returns `events`."""
    dispatcher.utter_message(response="utter_system_busy")
    return list(events)


def audit_context(tracker: Tracker) -> Dict[str, Any]:
    """Who is acting, for the store's audit log: the conversation and its channel."""
    return {
        "conversation_id": tracker.sender_id,
        "channel": tracker.get_latest_input_channel() or "rest",
    }
