"""The verification-code step's question, asked the way the conversation stands.

Rasa's forms call `action_ask_verification_code` (instead of utter_ask_verification_code)
when the code is the next thing needed. With a code to enter here it asks for it through
actions.asking (the third time in a row another way is offered); without one it says so and
when 重新发送 will send one, never asking for a code nobody sent; and when this turn already
said why no code came (too soon, a ceiling, a lost SMS), it adds nothing.
"""

from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.asking import ask_step
from actions.codes import code_state_here, tell_how_to_get_a_code
from actions.holder import pending_phone
from actions.outage import store_busy, store_safe
from actions.runtime import get_runtime
from core.store.errors import StoreUnavailable
from turns.record import this_turn

# Messages that already tell the user why there is no code to enter and what to do next.
EXPLAINED = frozenset(
    {
        "utter_code_recently_sent",
        "utter_code_hourly_limit",
        "utter_code_daily_limit",
        "utter_code_source_limit",
        "utter_phone_locked",
        "utter_code_sms_failed",
        "utter_code_expired",
        "utter_code_not_sent_here",
        "utter_code_not_sent_here_wait",
        "utter_system_busy",
    }
)


class ActionAskVerificationCode(Action):
    """Asks for the SMS code, or says how to get one when none can be entered here."""

    def name(self) -> str:
        """Action name (Rasa's forms call it for the verification_code slot)."""
        return "action_ask_verification_code"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """One question at most: the code, or how and when a code will come."""
        runtime = get_runtime()
        try:
            phone = pending_phone(tracker, runtime)
            state = None if phone is None else code_state_here(phone, tracker, runtime)
        except StoreUnavailable:
            return store_busy(dispatcher)
        if phone is None or state.live:
            ask_step(dispatcher, tracker, "utter_ask_verification_code", "utter_ask_code_again")
            return []
        if EXPLAINED.intersection(this_turn(tracker.events)):
            return []
        tell_how_to_get_a_code(phone, state, dispatcher, tracker, runtime)
        return []
