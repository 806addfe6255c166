"""Getting help: the handoff to a human with a masked summary, and not-understood messages."""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.asking import ask
from actions.holder import verified_phone
from actions.outage import store_busy, store_safe
from actions.proxy import PROXY_SLOT, proxy_answer
from actions.runtime import get_runtime
from actions.sending import send_and_record
from actions.subscriptions import answer_reference
from actions.turn import latest_entities, latest_intent_name, named_services
from core.sms import templates as sms_templates
from core.statuses import SmsKind
from core.store.errors import StoreUnavailable
from redaction.text import redact_text

RECENT_MESSAGES = 6
# Said inside a form when the information given does not fit the question (a statement: the
# form's own question follows).
INFORM_MISMATCH = {
    "phone_number": "utter_invalid_phone",
    "verification_code": "utter_invalid_code_format",
    "subscription_id": "utter_choice_not_understood",
}
# Free text in a summary is redacted with the same rules as everything Rasa keeps.
mask_text = redact_text


def conversation_summary(tracker: Tracker) -> str:
    """What a human agent needs to know, with personal data masked."""
    labels = phrases.SUMMARY_LABELS
    runtime = get_runtime()
    phone = verified_phone(tracker, runtime)
    identity = (
        f"{labels['verified']} {phrases.mask_phone(phone)}" if phone else labels["unverified"]
    )
    recent = [
        mask_text(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and (event.get("text") or "").strip()
    ][-RECENT_MESSAGES:]
    parts = [
        f"{labels['channel']}: {tracker.get_latest_input_channel() or 'rest'}",
        f"{labels['identity']}: {identity}",
    ]
    if tracker.get_slot("goal") or tracker.active_loop_name:
        parts.append(f"{labels['goal']}: {tracker.active_loop_name or tracker.get_slot('goal')}")
    if named_services(tracker):
        parts.append(f"{labels['service']}: {', '.join(named_services(tracker))}")
    if tracker.get_slot("batch_references"):
        parts.append(f"{labels['references']}: {', '.join(tracker.get_slot('batch_references'))}")
    parts.append(f"{labels['recent']}: " + " / ".join(recent))
    return "\n".join(parts)


def hand_off(tracker: Tracker, dispatcher: CollectingDispatcher) -> List[EventType]:
    """Opens a ticket with the masked summary (the user asked for a human) and says so."""
    runtime = get_runtime()
    phone = verified_phone(tracker, runtime)
    try:
        ticket = runtime.store.open_handoff(
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "rest",
            phone=phone,
            summary=conversation_summary(tracker),
        )
    except StoreUnavailable:
        return store_busy(dispatcher, [ActiveLoop(None), SlotSet("requested_slot", None)])
    if phone:
        text = sms_templates.handoff_opened(ticket.reference)
        send_and_record(runtime, tracker, phone, SmsKind.HANDOFF, text)
    dispatcher.utter_message(response="utter_handoff", reference=ticket.reference)
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("fallback_count", 0.0),
        SlotSet("next_step", "listen"),
    ]


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
