"""Getting help: the handoff to a human with a masked summary, and not-understood messages."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.asking import ask
from actions.handoff_tickets import hand_off
from actions.holder import verified_phone
from actions.memberships import answer_reference
from actions.outage import store_busy, store_safe
from actions.proxy import PROXY_SLOT, proxy_answer
from actions.runtime import get_runtime
from actions.turn import latest_entities, latest_intent_name
from core.store.errors import StoreUnavailable

# Said inside a form when the information given does not fit the question (a statement: the
# form's own question follows).
INFORM_MISMATCH = {
    "phone_number": "utter_invalid_phone",
    "verification_code": "utter_invalid_code_format",
    "subscription_id": "utter_choice_not_understood",
}


class ActionHandoff(Action):
    """Opens a handoff ticket with the conversation so far, masked, and says what happens next."""

    def name(self) -> str:
        """Action name."""
        return "action_handoff"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Creates the ticket and stops any form in progress."""
        return hand_off(tracker, dispatcher)


class ActionHandleFallback(Action):
    """Not understood: ask to rephrase once, then offer a human."""

    def name(self) -> str:
        """Action name."""
        return "action_handle_fallback"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Counts consecutive misunderstandings; inside a form the form asks again instead."""
        if proxy_answer(tracker, dispatcher):
            # Not misunderstood: someone asking how to act for the holder gets the answer.
            return [
                SlotSet(PROXY_SLOT, True),
                SlotSet("fallback_count", 0.0),
                SlotSet("next_step", "listen"),
            ]
        if tracker.active_loop_name:
            # The form asks its question again, worded as a second ask: one clear answer.
            return [SlotSet("next_step", "listen")]
        count = int(tracker.get_slot("fallback_count") or 0) + 1
        if not self._follows_fallback(tracker):
            count = 1
        if count >= 2:
            dispatcher.utter_message(response="utter_offer_human")
            return [SlotSet("fallback_count", 0.0), SlotSet("next_step", "offer_human")]
        dispatcher.utter_message(response="utter_rephrase")
        return [SlotSet("fallback_count", float(count)), SlotSet("next_step", "listen")]

    @staticmethod
    def _follows_fallback(tracker: Tracker) -> bool:
        """Whether the bot's last action before this message was also a fallback."""
        seen_user = False
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                if seen_user:
                    return False
                seen_user = True
                continue
            if seen_user and event.get("event") == "action":
                name = event.get("name")
                if name == "action_listen":
                    continue
                return name == "action_handle_fallback"
        return False


class ActionHandleInform(Action):
    """Information that fits no current question: say what is expected, or answer a reference."""

    def name(self) -> str:
        """Action name."""
        return "action_handle_inform"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Explains the expected input of the open question."""
        references = latest_entities(tracker, "reference_number")
        if references:
            try:
                runtime = get_runtime()
                holder = verified_phone(tracker, runtime)
                for reference in references:
                    answer_reference(reference, dispatcher, runtime, holder)
            except StoreUnavailable:
                store_busy(dispatcher)
            return []
        if tracker.active_loop_name:
            # The form asks its question again right after; only say what was wrong with
            # the answer, when that helps (a number of the wrong shape, no such membership).
            requested = tracker.get_slot("requested_slot") or ""
            statement = INFORM_MISMATCH.get(requested)
            if statement and latest_intent_name(tracker) == "inform":
                dispatcher.utter_message(response=statement)
            return []
        ask(dispatcher, tracker, "utter_how_can_help")
        return []
