"""The phone number and SMS code slots of the forms (VerificationSlots, a base of the forms).

Who the user is lives in actions/holder.py (the store's verified session), codes in
actions/codes.py, the actions around them (ask the number, resend a code, restart) in
actions/identity.py; this module validates what the user gives and keeps the slots to it.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.codes import code_state_here, send_code, tell_how_to_get_a_code
from actions.holder import (
    clean_phone,
    forget_identity,
    pending_phone,
    verified_phone,
)
from actions.outage import store_busy
from actions.privacy_notice import privacy_notice
from actions.runtime import Runtime, get_runtime
from core.phone import mask_phone
from core.statuses import CodeCheckStatus
from core.store.errors import StoreUnavailable
from redaction.text import REDACTED

CODE_RE = re.compile(r"^\d{6}$")
CODE_PLACEHOLDER = "******"
# Messages that leave a flow rather than answer it: an expired identity is not proved again
# for them (转人工 gets a human, not a new code).
LEAVING_INTENTS = frozenset({"request_human", "goodbye", "deny"})


def _another_number_given(tracker: Tracker, current: str) -> bool:
    """Whether the latest message gives a valid number other than the verified one."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "phone_number":
            given = clean_phone(entity.get("value"))
            if given is not None and given != current:
                return True
    return False


class VerificationSlots:
    """Validation of phone_number and verification_code, shared by the forms that need identity."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """The form's step; with the store down, the truth is told and the form ends."""
        try:
            events = await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
            return list(events) + privacy_notice(tracker, dispatcher)
        except StoreUnavailable:
            return store_busy(
                dispatcher,
                [SlotSet("selection_note", "unavailable"), SlotSet("requested_slot", None)],
            )

    def identity_slots(self, tracker: Tracker, runtime: Runtime) -> List[str]:
        """The identity slots still needed ([] when verified for the number the user means).

        A different number given now ("139…是我的手机号") is taken up: it is checked and gets
        its own code, instead of the verified holder's answer coming back again.
        """
        current = verified_phone(tracker, runtime)
        if current and not _another_number_given(tracker, current):
            return []
        return ["phone_number", "verification_code"]

    async def extract_verification_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """An identity proved earlier but now expired is proved again with a new code."""
        runtime = get_runtime()
        # A code given in an earlier turn comes back from the tracker store redacted.
        if tracker.get_slot("verification_code") not in (CODE_PLACEHOLDER, REDACTED):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in LEAVING_INTENTS:
            return {}  # the form lets go of the message and the rules answer it
        try:
            if verified_phone(tracker, runtime):
                return {}
            phone = pending_phone(tracker, runtime)
            if phone is None:
                # Nothing to prove again here (no number this conversation gave): the form
                # simply asks for the number, with its own words.
                return {"verification_code": None, "phone_number": None}
            dispatcher.utter_message(response="utter_verification_expired")
            outcome = send_code(phone, tracker, dispatcher, runtime, resend=True)
        except StoreUnavailable:
            store_busy(dispatcher)
            return {"verification_code": None, "phone_number": None}
        if outcome == "blocked":
            return {"verification_code": None, "phone_number": None, "selection_note": "locked"}
        return {"verification_code": None, "verified_phone": None, "verified_at": None}

    @staticmethod
    def _kept_number(value: Any, tracker: Tracker, runtime: Runtime) -> Optional[str]:
        """`value` when it is the masked form of the number this conversation already holds
        (a form opened again with the slot still filled), else None."""
        if not isinstance(value, str) or "*" not in value:
            return None
        phone = runtime.store.conversation_phone(tracker.sender_id)
        return value if phone is not None and mask_phone(phone) == value else None

    async def validate_phone_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Checks the number's shape, keeps it for this conversation and sends a code to it.

        The number is kept whatever becomes of its code (too soon, a ceiling, a lockout here,
        a lost SMS): what was said tells when and how to go on, the next step is the code,
        and 重新发送 sends one to this number later.
        """
        if slot_value is None:
            return {"phone_number": None}  # cleared by this step itself: the form asks again
        runtime = get_runtime()
        phone = clean_phone(slot_value)
        try:
            if phone is None:
                kept = self._kept_number(slot_value, tracker, runtime)
                if kept is not None:
                    return {"phone_number": kept}
                dispatcher.utter_message(response="utter_invalid_phone")
                return {"phone_number": None}
            current = verified_phone(tracker, runtime)
            if current == phone:
                return {"phone_number": mask_phone(phone)}
            runtime.store.remember_conversation_phone(tracker.sender_id, phone)
            if current is not None:
                # The user changed number: the identity proved for the other one ends now.
                runtime.store.end_session(tracker.sender_id, "another_number")
                forget_identity(tracker)
            send_code(phone, tracker, dispatcher, runtime, resend=False)
        except StoreUnavailable:
            store_busy(dispatcher)
            return {"phone_number": None}
        # A new number drops any identity proved for another one. The slot keeps it masked.
        return {
            "phone_number": mask_phone(phone),
            "verification_code": None,
            "verified_phone": None,
            "verified_at": None,
        }

    async def validate_verification_code(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Checks the code against the store; never repeats it back."""
        if slot_value is None:
            return {"verification_code": None}  # cleared by this step itself
        runtime = get_runtime()
        try:
            if slot_value == CODE_PLACEHOLDER and verified_phone(tracker, runtime):
                return {"verification_code": CODE_PLACEHOLDER}
            phone = pending_phone(tracker, runtime)
            if phone is None:
                dispatcher.utter_message(response="utter_need_phone_first")
                return {"verification_code": None}
            code = re.sub(r"\s", "", str(slot_value or ""))
            if not CODE_RE.match(code):
                dispatcher.utter_message(response="utter_invalid_code_format")
                return {"verification_code": None}
            channel = tracker.get_latest_input_channel()
            check = runtime.store.check_code(phone, code, tracker.sender_id, channel)
        except StoreUnavailable:
            store_busy(dispatcher)
            return {"verification_code": None}
        if check.status == CodeCheckStatus.OK:
            # The store opened this conversation's session with the check.
            forget_identity(tracker)
            dispatcher.utter_message(response="utter_verified")
            return {
                "verification_code": CODE_PLACEHOLDER,
                "verified_phone": mask_phone(phone),
                "verified_at": runtime.epoch(),
            }
        if check.status == CodeCheckStatus.WRONG:
            dispatcher.utter_message(
                response="utter_wrong_code", remaining=check.remaining_attempts
            )
            return {"verification_code": None}
        if check.status == CodeCheckStatus.EXPIRED:
            dispatcher.utter_message(response="utter_code_expired")
            return {"verification_code": None}
        if check.status == CodeCheckStatus.LOCKED:
            retry = check.locked_until.astimezone(
                phrases.ZoneInfo(runtime.settings.timezone)
            ).strftime("%H:%M")
            dispatcher.utter_message(
                response="utter_phone_locked",
                masked_phone=mask_phone(phone),
                retry_time=retry,
            )
            return {"verification_code": None, "phone_number": None, "selection_note": "locked"}
        # No code to enter here for the number this conversation holds (the one in the SMS
        # went to another conversation, or none went out): say so, and when 重新发送 sends one.
        try:
            tell_how_to_get_a_code(
                phone, code_state_here(phone, tracker, runtime), dispatcher, tracker, runtime
            )
        except StoreUnavailable:
            store_busy(dispatcher)
        return {"verification_code": None}
