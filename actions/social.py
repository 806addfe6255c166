"""Greeting and thanks outside a flow: their open questions are asked through actions.asking,
so the same "有什么可以帮您" never comes a third time in a row without another way."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.asking import ask, ask_step


class ActionGreet(Action):
    """你好 → the greeting, which asks what the user needs."""

    def name(self) -> str:
        """Action name."""
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Greets and asks what for."""
        ask(dispatcher, tracker, "utter_greet")
        return []


class ActionThank(Action):
    """谢谢 → you are welcome, and whether there is anything else."""

    def name(self) -> str:
        """Action name."""
        return "action_thank"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Answers thanks and asks whether anything else is needed."""
        ask(dispatcher, tracker, "utter_you_are_welcome")
        return []


class ActionAskCancelReason(Action):
    """The reason form's one question, worded as a second ask when it comes again."""

    def name(self) -> str:
        """Action name."""
        return "action_ask_cancel_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Asks why; the second time with examples and how to skip."""
        ask_step(dispatcher, tracker, "utter_ask_cancel_reason", "utter_ask_reason_again")
        return []
