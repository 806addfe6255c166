"""Unexpected charges: list them, say which agree with what the user described, and offer a
refund request for those that qualify; a case is opened only after the user says yes."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.holder import answer_for_holder
from actions.outage import store_safe
from actions.refund_offers import asks_to_file, file_offered_refunds, review_charges
from actions.runtime import Runtime, get_runtime


class ActionReviewCharges(Action):
    """Handles 'charged although I cancelled' and unknown deductions."""

    def name(self) -> str:
        """Action name."""
        return "action_review_charges"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Reviews the verified holder's charges, or asks for the phone number first."""
        runtime = get_runtime()
        if asks_to_file(tracker):
            # "帮我申请退款" right after the offer is its yes; reviewing again would loop.
            return file_offered_refunds(tracker, dispatcher, runtime)
        offer: List[EventType] = []

        def answer(phone: str, runtime: Runtime) -> None:
            offer.extend(review_charges(phone, tracker, dispatcher, runtime))

        events = answer_for_holder(
            tracker, dispatcher, "charge", "utter_ask_phone_for_charge", answer
        )
        return events + offer
