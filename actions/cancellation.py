"""The cancellation: list, status and consequences, confirmation, transaction, receipt."""

from __future__ import annotations

from typing import Any, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.asking import ask, ask_step
from actions.holder import touch_verification, verified_phone
from actions.memberships import active_choices, current_subscription, subscription_details
from actions.outage import store_busy, store_safe
from actions.runtime import Runtime, get_runtime
from actions.sending import send_and_record
from core.sms import templates as sms_templates
from core.statuses import CancelStatus, SmsKind
from core.store.errors import StoreUnavailable
from turns.record import said_this_turn

# Slots of one cancellation; cleared when it ends so the next one starts fresh.
FLOW_SLOTS = ("subscription_id", "cancel_confirmed", "selection_note", "service", "requested_slot")


class ActionAskSubscriptionId(Action):
    """Lists the holder's active memberships, numbered, with next charge dates."""

    def name(self) -> str:
        """Action name."""
        return "action_ask_subscription_id"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utters the list with one button per membership."""
        runtime = get_runtime()
        phone = verified_phone(tracker, runtime)
        if not phone:
            ask(dispatcher, tracker, "utter_ask_phone_number")
            return []
        try:
            choices = active_choices(runtime, phone)
        except StoreUnavailable:
            return store_busy(dispatcher)
        tz = runtime.settings.timezone
        today = runtime.clock().date()
        lines = [phrases.subscription_line(i, s, tz, today) for i, s in enumerate(choices, 1)]
        buttons = [
            {"title": f"{i}. {s.product_name}", "payload": str(i)} for i, s in enumerate(choices, 1)
        ]
        ask_step(
            dispatcher,
            tracker,
            "utter_subscription_list",
            "utter_ask_choice_again",
            masked_phone=phrases.mask_phone(phone),
            items="\n".join(lines),
            buttons=buttons,
        )
        return touch_verification(tracker, runtime)


class ActionAskCancelConfirmed(Action):
    """States the membership's status and what cancelling means, then asks for a yes or no."""

    def name(self) -> str:
        """Action name."""
        return "action_ask_cancel_confirmed"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Status, consequences, question; a repeat asks only the question."""
        runtime = get_runtime()
        try:
            sub = current_subscription(tracker, runtime)
        except StoreUnavailable:
            return store_busy(dispatcher)
        if sub is None:
            return [SlotSet("subscription_id", None)]
        details = subscription_details(sub, runtime)
        if not self._details_said(tracker):
            dispatcher.utter_message(response="utter_subscription_status", **details)
            dispatcher.utter_message(response="utter_cancel_consequences", **details)
        ask_step(
            dispatcher, tracker, "utter_ask_cancel_confirmed", "utter_ask_confirm_again", **details
        )
        return touch_verification(tracker, runtime)

    @staticmethod
    def _details_said(tracker: Tracker) -> bool:
        """Whether status and consequences were already said for the selected membership."""
        for event in reversed(tracker.events):
            if event.get("event") == "slot" and event.get("name") == "subscription_id":
                return False
            metadata = event.get("metadata") or {}
            if event.get("event") == "bot" and metadata.get("utter_action") == (
                "utter_cancel_consequences"
            ):
                return True
        return False


class ActionCancelSubscription(Action):
    """Cancels the confirmed membership in one transaction, or says why nothing changed."""

    def name(self) -> str:
        """Action name."""
        return "action_cancel_subscription"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Acts on the form's result and decides what comes next."""
        runtime = get_runtime()
        events: List[EventType] = [SlotSet(slot, None) for slot in FLOW_SLOTS]
        batch = list(tracker.get_slot("batch_references") or [])
        note = tracker.get_slot("selection_note")
        confirmed = tracker.get_slot("cancel_confirmed")

        if note == "none_active":
            phone = verified_phone(tracker, runtime) or ""
            dispatcher.utter_message(
                response="utter_no_active_subscriptions", masked_phone=phrases.mask_phone(phone)
            )
            return events + [SlotSet("next_step", "listen")]
        if note in ("already_cancelled", "app_store"):
            return events + self._next(tracker, dispatcher, batch)
        if note == "unavailable" or not tracker.get_slot("subscription_id"):
            if not said_this_turn(tracker.events):
                # The form ended with nothing to act on and nothing said: never a silent turn.
                ask(dispatcher, tracker, "utter_how_can_help")
            return events + [SlotSet("next_step", "listen")]

        try:
            sub = current_subscription(tracker, runtime)
        except StoreUnavailable:
            store_busy(dispatcher)
            return events + [SlotSet("next_step", "listen")]
        if sub is None:
            return events + [SlotSet("next_step", "listen")]
        if confirmed is not True:
            dispatcher.utter_message(response="utter_cancel_aborted", service=sub.product_name)
            return (
                events
                + [SlotSet("pending_subscriptions", [])]
                + self._next(tracker, dispatcher, batch, keep_pending=False)
            )
        reference = self._cancel(sub, tracker, dispatcher, runtime)
        if reference:
            batch.append(reference)
            events.append(SlotSet("batch_references", batch))
        return events + self._next(tracker, dispatcher, batch)

    def _cancel(
        self, sub: Any, tracker: Tracker, dispatcher: CollectingDispatcher, runtime: Runtime
    ) -> Optional[str]:
        """Runs the cancellation and tells the outcome; the reference when it happened."""
        phone = verified_phone(tracker, runtime) or ""
        channel = tracker.get_latest_input_channel() or "rest"
        try:
            outcome = runtime.store.cancel(
                sub.id,
                phone=phone,
                channel=channel,
                conversation_id=tracker.sender_id,
                idempotency_key=f"{tracker.sender_id}:{sub.id}",
            )
        except StoreUnavailable:
            store_busy(dispatcher)
            return None
        details = subscription_details(sub, runtime)
        partner = phrases.PARTNER_NAMES.get(sub.billing_channel, "")
        steps = phrases.PARTNER_STEPS.get(sub.billing_channel, "")
        if outcome.status == CancelStatus.PARTNER_FAILED:
            dispatcher.utter_message(
                response="utter_partner_failed", partner=partner, steps=steps, **details
            )
            return None
        if outcome.status == CancelStatus.PARTNER_TIMEOUT:
            dispatcher.utter_message(
                response="utter_partner_timeout", partner=partner, steps=steps, **details
            )
            return None
        if outcome.status == CancelStatus.APP_STORE:
            dispatcher.utter_message(response="utter_app_store_steps", **details)
            return None
        if (
            outcome.status not in (CancelStatus.CANCELLED, CancelStatus.ALREADY_CANCELLED)
            or not outcome.reference
        ):
            store_busy(dispatcher)
            return None
        tz = runtime.settings.timezone
        today = runtime.clock().date()
        effective = outcome.effective_until or sub.period_end
        masked = phrases.mask_phone(phone)
        response = "utter_cancelled"
        if outcome.status == CancelStatus.CANCELLED and not outcome.repeat:
            # A repeated request (retry, second tab, two servers) was receipted the first time.
            response = self._send_receipt(
                sub, outcome.reference, effective, phone, runtime, tracker
            )
        dispatcher.utter_message(
            response=response,
            service=sub.product_name,
            reference=outcome.reference,
            effective_until=phrases.day(effective, tz, today),
            masked_phone=masked,
        )
        return outcome.reference

    @staticmethod
    def _send_receipt(
        sub: Any, reference: str, effective: Any, phone: str, runtime: Runtime, tracker: Tracker
    ) -> str:
        """Sends the receipt SMS; the response to use depends on whether it went out."""
        local_end = effective.astimezone(phrases.ZoneInfo(runtime.settings.timezone)).date()
        text = sms_templates.cancellation_receipt(
            sub.product_name, reference, local_end, runtime.clock().date()
        )
        if not send_and_record(runtime, tracker, phone, SmsKind.RECEIPT, text):
            return "utter_cancelled_receipt_failed"
        return "utter_cancelled"

    @staticmethod
    def _next(
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        batch: List[str],
        keep_pending: bool = True,
    ) -> List[EventType]:
        """The next membership of the batch, the reason question, or the offer of another."""
        pending = list(tracker.get_slot("pending_subscriptions") or []) if keep_pending else []
        if pending:
            runtime = get_runtime()
            next_id = pending.pop(0)
            sub = runtime.store.subscription(int(next_id))
            if sub is not None:
                dispatcher.utter_message(response="utter_next_membership", service=sub.product_name)
            return [
                SlotSet("subscription_id", next_id),
                SlotSet("pending_subscriptions", pending),
                SlotSet("next_step", "next_membership"),
            ]
        if batch and not tracker.get_slot("reason_asked"):
            return [SlotSet("reason_asked", True), SlotSet("next_step", "reason")]
        ask(dispatcher, tracker, "utter_ask_another")
        return [SlotSet("next_step", "another")]


class ActionAfterReason(Action):
    """Thanks for the reason (if one was given) and offers to cancel another membership."""

    def name(self) -> str:
        """Action name."""
        return "action_after_reason"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Thanks, then the offer."""
        reason = tracker.get_slot("cancel_reason")
        if reason and reason != "__skipped__":
            dispatcher.utter_message(response="utter_reason_thanks")
        ask(dispatcher, tracker, "utter_ask_another")
        return [SlotSet("cancel_reason", None), SlotSet("next_step", "another")]


class ActionStopFlow(Action):
    """The user gave up mid-way: stop, change nothing, and say so."""

    def name(self) -> str:
        """Action name."""
        return "action_stop_flow"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Deactivates the form and clears its slots."""
        dispatcher.utter_message(response="utter_flow_stopped")
        return (
            [ActiveLoop(None)]
            + [SlotSet(slot, None) for slot in FLOW_SLOTS]
            + [
                SlotSet("pending_subscriptions", []),
                SlotSet("next_step", "listen"),
            ]
        )
