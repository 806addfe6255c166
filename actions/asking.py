"""Asking the user something: one question per turn, and never the same prompt a third time
without another way forward (a human, the operator's own channels)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import get_runtime
from turns.record import repeats_of

# The third time in a row a prompt is asked, another way is offered with it.
OFFER_OTHER_WAYS_AFTER = 2


def other_ways(dispatcher: CollectingDispatcher) -> None:
    """Says how else to get it done: a human here, or the operator's own channels."""
    settings = get_runtime().settings
    dispatcher.utter_message(
        response="utter_other_ways",
        hotline=settings.operator_hotline,
        sms_number=settings.cancel_sms_number,
        sms_keyword=settings.cancel_sms_keyword,
    )


def other_ways_if_repeated(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str
) -> None:
    """Offers another way when `question` is about to be asked for the third time in a row."""
    if repeats_of(tracker.events, question) >= OFFER_OTHER_WAYS_AFTER:
        other_ways(dispatcher)


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, response: str, **kwargs: Any) -> None:
    """Utters the question `response`; the third time in a row, offers another way first."""
    other_ways_if_repeated(dispatcher, tracker, response)
    dispatcher.utter_message(response=response, **kwargs)


def ask_step(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    first: str,
    again: str,
    **kwargs: Any,
) -> None:
    """Asks a flow's step: worded `first` the first time, `again` when the last turn asked it."""
    response = again if repeats_of(tracker.events, first) >= 1 else first
    ask(dispatcher, tracker, response, **kwargs)
