"""What the last reply of an SMS conversation offered, read back from the conversation's events.

The tracker store already keeps every turn (and is shared by all Rasa processes), so the menu
a number answers is taken from there rather than from this process's memory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence

from channels.sms.render import Offer, Option, render

logger = logging.getLogger(__name__)

# Rasa starts a new session after 60 idle minutes (domain.yml); an older menu is stale.
DEFAULT_OFFER_TTL = 3600.0


@dataclass(frozen=True)
class Turn:
    """One user message (None before the first) and the bot messages that answered it."""

    user_text: Optional[str]
    replies: List[Dict[str, Any]]


def _as_message(event: Dict[str, Any]) -> Dict[str, Any]:
    data = event.get("data") or {}
    metadata = event.get("metadata") or {}
    return {
        "text": event.get("text"),
        "buttons": data.get("buttons"),
        "utter_action": metadata.get("utter_action"),
    }


def turns(events: Sequence[Dict[str, Any]]) -> List[Turn]:
    """The conversation as turns: each user message with the bot messages after it."""
    result: List[Turn] = [Turn(None, [])]
    for event in events:
        kind = event.get("event")
        if kind == "user":
            result.append(Turn(event.get("text"), []))
        elif kind == "bot":
            result[-1].replies.append(_as_message(event))
        elif kind in ("restart", "session_started"):
            result = [Turn(None, [])]
    return result


def _offer(replies: List[Dict[str, Any]]) -> Offer:
    return render(replies).offer


def _picked(history: List[Turn]) -> Optional[Option]:
    """The list item this confirmation is about: the number answered to the last list."""
    for index in range(len(history) - 1, 0, -1):
        offer = _offer(history[index].replies)
        if not offer.confirming:
            return None
        before = _offer(history[index - 1].replies)
        if not before.confirming:
            text = history[index].user_text
            return next((o for o in before.options if o.payload == text), None)
    return None


def last_offer(
    events: Sequence[Dict[str, Any]],
    now: Optional[float] = None,
    ttl: float = DEFAULT_OFFER_TTL,
) -> Offer:
    """The menu of the conversation's last reply, with the picked item when it is a confirmation."""
    history = turns(events)
    if not history[-1].replies:
        return Offer()
    stamps = [e.get("timestamp") for e in events if e.get("event") == "bot"]
    last = stamps[-1] if stamps else None
    if isinstance(last, (int, float)) and (now or time.time()) - last > ttl:
        return Offer()
    offer = _offer(history[-1].replies)
    if offer.confirming:
        offer = replace(offer, picked=_picked(history))
    return offer
