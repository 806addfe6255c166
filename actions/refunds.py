"""Unexpected charges: explain each, and open a refund case where the rules allow one."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.forms import named_services
from actions.outage import store_safe
from actions.runtime import Runtime
from actions.verification import answer_for_holder

REVIEW_DAYS = 90


def review_charges(
    phone: str, tracker: Tracker, dispatcher: CollectingDispatcher, runtime: Runtime
) -> None:
    """Lists recent charges; opens a refund case for each one that qualifies."""
    charges = runtime.store.review_charges(phone, days=REVIEW_DAYS)
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    masked = phrases.mask_phone(phone)
    if not charges:
        dispatcher.utter_message(response="utter_no_charges", days=REVIEW_DAYS, masked_phone=masked)
        return
    lines = [phrases.charge_line(i, c, tz, today) for i, c in enumerate(charges, 1)]
    dispatcher.utter_message(
        response="utter_charges_overview", days=REVIEW_DAYS, items="\n".join(lines)
    )
    named = named_services(tracker)
    opened = 0
    for charge in charges:
        if charge.after_cancellation:
            why = phrases.CHARGE_WHY["after_cancellation"]
        elif charge.within_refund_window and (not named or charge.product_name in named):
            why = phrases.CHARGE_WHY["refund_window"]
        else:
            continue
        case = runtime.store.open_refund_case(
            charge.charge_id,
            phone=phone,
            conversation_id=tracker.sender_id,
            reason=why,
            channel=tracker.get_latest_input_channel() or "rest",
        )
        opened += 1
        dispatcher.utter_message(
            response="utter_refund_case_opened",
            charged_date=phrases.day(charge.charged_at, tz, today),
            service=charge.product_name,
            amount=phrases.money(charge.amount),
            why=why,
            reference=case.reference,
        )
    if opened < len(charges):
        dispatcher.utter_message(response="utter_charge_explained")
    dispatcher.utter_message(
        response="utter_complaint_channels", hotline=runtime.settings.operator_hotline
    )


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
        return answer_for_holder(
            tracker,
            dispatcher,
            "charge",
            "utter_ask_phone_for_charge",
            lambda phone, runtime: review_charges(phone, tracker, dispatcher, runtime),
        )
