"""Looking things up: the holder's memberships and earlier cancellations."""

from __future__ import annotations

from decimal import Decimal
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.asking import ask, other_ways_if_repeated
from actions.holder import answer_for_holder, touch_verification, verified_phone
from actions.memberships import answer_reference
from actions.outage import store_busy, store_safe
from actions.refund_offers import review_charges
from actions.runtime import Runtime, get_runtime
from actions.turn import latest_entities
from core.statuses import SubscriptionStatus
from core.store.errors import StoreUnavailable

PERIODS_PER_MONTH = {"month": Decimal(1), "quarter": Decimal(1) / 3, "year": Decimal(1) / 12}


def show_subscriptions(
    phone: str, dispatcher: CollectingDispatcher, runtime: Runtime, tracker: Tracker
) -> None:
    """All of the holder's memberships with price, next charge and status."""
    subs = runtime.store.subscriptions(phone)
    masked = phrases.mask_phone(phone)
    if not subs:
        dispatcher.utter_message(response="utter_no_subscriptions", masked_phone=masked)
        return
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    lines = [phrases.subscription_line(i, s, tz, today) for i, s in enumerate(subs, 1)]
    active = [s for s in subs if s.status == SubscriptionStatus.ACTIVE]
    if active:
        # The overview ends asking which one to cancel: the third time, other ways come first.
        other_ways_if_repeated(dispatcher, tracker, "utter_subscriptions_total")
    dispatcher.utter_message(
        response="utter_subscriptions_overview", masked_phone=masked, items="\n".join(lines)
    )
    if active:
        monthly = sum(s.price * PERIODS_PER_MONTH.get(s.period, Decimal(1)) for s in active)
        dispatcher.utter_message(
            response="utter_subscriptions_total", total=f"{phrases.money(monthly)}/月"
        )
    else:
        dispatcher.utter_message(response="utter_no_active_subscriptions", masked_phone=masked)


def show_cancellations(phone: str, dispatcher: CollectingDispatcher, runtime: Runtime) -> None:
    """Every cancellation of the holder with its reference."""
    items = runtime.store.cancellations(phone)
    masked = phrases.mask_phone(phone)
    if not items:
        dispatcher.utter_message(response="utter_no_cancellations", masked_phone=masked)
        return
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    lines = [phrases.cancellation_line(i, c, tz, today) for i, c in enumerate(items, 1)]
    dispatcher.utter_message(
        response="utter_cancellation_list", masked_phone=masked, items="\n".join(lines)
    )


class ActionCheckSubscriptions(Action):
    """Which memberships are active, their price and next charge (after verification)."""

    def name(self) -> str:
        """Action name."""
        return "action_check_subscriptions"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Shows the list, or asks for the phone number first."""
        return answer_for_holder(
            tracker,
            dispatcher,
            "check",
            "utter_ask_phone_for_check",
            lambda phone, runtime: show_subscriptions(phone, dispatcher, runtime, tracker),
        )


class ActionQueryCancellation(Action):
    """An earlier cancellation: by reference its status for anyone, details for the holder."""

    def name(self) -> str:
        """Action name."""
        return "action_query_cancellation"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Answers by reference, lists, or asks for a reference or the phone number."""
        runtime = get_runtime()
        references = latest_entities(tracker, "reference_number")
        try:
            phone = verified_phone(tracker, runtime)
            if references:
                brief = [answer_reference(r, dispatcher, runtime, phone) for r in references]
                # The details come once the user proves the number (then the list is shown).
                return [SlotSet("goal", "query")] if any(brief) and not phone else []
            if phone:
                show_cancellations(phone, dispatcher, runtime)
                return touch_verification(tracker, runtime)
        except StoreUnavailable:
            return store_busy(dispatcher)
        if tracker.active_loop_name:
            # The form is already asking for the number or the code: one question a turn.
            dispatcher.utter_message(response="utter_records_after_verification")
            return [SlotSet("goal", "query")] if tracker.active_loop_name == "identity_form" else []
        ask(dispatcher, tracker, "utter_ask_reference_or_phone")
        return [SlotSet("goal", "query")]


class ActionAfterIdentity(Action):
    """Answers what the user asked before they had to prove who they are."""

    def name(self) -> str:
        """Action name."""
        return "action_after_identity"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Dispatches on the remembered goal (the membership list by default)."""
        runtime = get_runtime()
        phone = verified_phone(tracker, runtime)
        done = [SlotSet("goal", None), SlotSet("selection_note", None)]
        if not phone:
            return done
        goal = tracker.get_slot("goal")
        try:
            if goal == "charge":
                done += review_charges(phone, tracker, dispatcher, runtime)
            elif goal == "query":
                show_cancellations(phone, dispatcher, runtime)
            else:
                show_subscriptions(phone, dispatcher, runtime, tracker)
        except StoreUnavailable:
            store_busy(dispatcher)
        return done
