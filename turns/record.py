"""What the last turns asked, read from a conversation's events (plain dicts, as Rasa keeps them).

Every bot message made from a response carries its name in `metadata.utter_action`; a turn
is what the bot said between two user messages.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

from turns.questions import OTHER_WAYS, same_prompt, turn_question

Event = Dict[str, Any]


def template_of(event: Event) -> Optional[str]:
    """The response a bot event was made from, if any."""
    metadata = event.get("metadata") or {}
    name = metadata.get("utter_action") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def bot_turns(events: Iterable[Event]) -> List[List[str]]:
    """The responses of each bot turn, oldest first (a turn ends at the next user message)."""
    turns: List[List[str]] = []
    current: List[str] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if current:
                turns.append(current)
            current = []
        elif kind == "bot":
            name = template_of(event)
            if name:
                current.append(name)
        elif kind == "restart":
            turns, current = [], []
    if current:
        turns.append(current)
    return turns


def _before_latest_user(events: Sequence[Event]) -> Sequence[Event]:
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return events[:index]
    return events


def last_question(events: Sequence[Event]) -> Optional[str]:
    """The question (or, failing one, the offer) of the bot's turn before the latest user
    message, or None."""
    turns = bot_turns(_before_latest_user(events))
    return turn_question(turns[-1], offers=True) if turns else None


def repeats_of(events: Sequence[Event], prompt: str, current: Sequence[str] = ()) -> int:
    """How many turns in a row before this one asked `prompt` without offering another way.

    `events` are the conversation so far (the latest user message included); `current` are
    responses already given in this turn. Wordings of one prompt count as the same prompt.
    """
    turns = bot_turns(_before_latest_user(events))
    if current:
        turns = turns + [list(current)]
    count = 0
    for turn in reversed(turns):
        if not same_prompt(turn_question(turn), prompt) or OTHER_WAYS.intersection(turn):
            break
        count += 1
    return count


def this_turn(events: Sequence[Event]) -> List[str]:
    """The responses the bot gave since the latest user message (none before one)."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            turns = bot_turns(events[index:])
            return turns[-1] if turns else []
    return []


def said_this_turn(events: Sequence[Event]) -> bool:
    """Whether the bot has said anything since the latest user message."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            return False
        if kind == "bot":
            return True
    return False
