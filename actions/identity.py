"""The actions around proving who the user is: asking for the number (or sending the code to
a caller's own line), sending a new code, and /restart ending the store's session."""

from __future__ import annotations

from typing import List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.asking import ask
from actions.codes import send_code
from actions.holder import channel_identity, forget_identity, pending_phone
from actions.outage import store_busy, store_safe
from actions.proxy import PROXY_SLOT, explain_before_prompt
from actions.runtime import get_runtime
from core.phone import mask_phone
from core.store.errors import StoreUnavailable
from turns.record import repeats_of


class ActionResendCode(Action):
    """Sends a new code when the user did not get one (没收到验证码)."""

    def name(self) -> str:
        """Action name."""
        return "action_resend_code"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Resends to the number this conversation holds, within the store's limits; asks
        for the number only when the conversation was never given one."""
        runtime = get_runtime()
        events: List[EventType] = []
        try:
            phone = pending_phone(tracker, runtime)
            if phone is None and not tracker.get_slot("phone_number"):
                # A flow that ended (a lockout) dropped the slot; the store still has it.
                phone = runtime.store.conversation_phone(tracker.sender_id)
                if phone is not None:
                    events.append(SlotSet("phone_number", mask_phone(phone)))
            if phone is None:
                dispatcher.utter_message(response="utter_need_phone_first")
                return []
            send_code(phone, tracker, dispatcher, runtime, resend=True)
        except StoreUnavailable:
            store_busy(dispatcher)
        return events


class ActionAskPhoneNumber(Action):
    """Asks for the phone number, saying why in the words of the current task."""

    def name(self) -> str:
        """Action name."""
        return "action_ask_phone_number"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Chooses the wording from the form and the membership named so far."""
        # Someone writing for the holder first hears how that works (once per conversation).
        explained = explain_before_prompt(tracker, dispatcher)
        # ... and on a call, their own line is not the holder's: ask rather than send it a code.
        for_other = bool(explained) or bool(tracker.get_slot(PROXY_SLOT))
        prefilled = None if for_other else self.code_to_caller(dispatcher, tracker)
        if prefilled is not None:
            return prefilled
        if repeats_of(tracker.events, "utter_ask_phone_number") >= 1:
            ask(dispatcher, tracker, "utter_ask_phone_again")
        elif tracker.active_loop_name == "cancel_form":
            service = tracker.get_slot("service")
            if service:
                names = [service] if isinstance(service, str) else list(service)
                ask(
                    dispatcher,
                    tracker,
                    "utter_ask_phone_number_for_cancel",
                    service="和".join(names),
                )
            else:
                ask(dispatcher, tracker, "utter_ask_phone_number_generic_cancel")
        else:
            ask(dispatcher, tracker, "utter_ask_phone_number")
        return explained

    def code_to_caller(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Optional[List[EventType]]:
        """On a phone call, sends the code to the caller's own number instead of asking.

        Only the first time in a conversation: after that the caller chose or typed a number.
        None means "ask as usual".
        """
        runtime = get_runtime()
        identity = channel_identity(tracker, runtime)
        if identity is None or identity.source != "caller_id" or tracker.get_slot("phone_number"):
            return None
        try:
            if runtime.store.conversation_phone(tracker.sender_id) is not None:
                return None
            outcome = send_code(
                identity.phone,
                tracker,
                dispatcher,
                runtime,
                resend=False,
                sent_response="utter_code_sent_to_caller",
            )
        except StoreUnavailable:
            return store_busy(dispatcher)
        if outcome == "sent":
            return [
                SlotSet("phone_number", mask_phone(identity.phone)),
                SlotSet("verified_phone", None),
                SlotSet("verified_at", None),
            ]
        if outcome == "blocked":
            return [SlotSet("selection_note", "locked")]
        return None


class ActionRestart(Action):
    """/restart: the conversation starts over, and the store's verified session ends with it."""

    def name(self) -> str:
        """Rasa's default restart action, replaced so the store forgets the identity too."""
        return "action_restart"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Ends the session, then restarts the tracker."""
        get_runtime().store.end_session(tracker.sender_id, "restart")
        forget_identity(tracker)
        return [Restarted()]
