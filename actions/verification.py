"""Who the user is: the phone number, the SMS code, and the store's verified session.

Identity is the store's: a conversation is verified while the store holds a fresh session
for it (opened by a code the store checked, or by a signed channel assertion that proves the
phone). Slots keep only the masked number for wording; `input_channel`, slots and metadata
never authorise anything.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.asking import ask
from actions.outage import audit_context, store_safe
from actions.privacy_notice import privacy_notice
from actions.proxy import PROXY_SLOT, explain_before_prompt
from actions.runtime import Runtime, get_runtime
from core.identity import assertion as assertions
from core.phone import parse_mobile
from core.sms import SmsError
from core.sms import templates as sms_templates
from core.store.errors import StoreUnavailable
from redaction.text import REDACTED
from turns.record import repeats_of

logger = logging.getLogger(__name__)

CODE_RE = re.compile(r"^\d{6}$")
CODE_PLACEHOLDER = "******"
# How long one answer of the store about this conversation's session is reused within an
# action call (a form step asks several times); a proof or an end forgets it at once.
_SESSION_REUSE_SECONDS = 1.0
_IDENTITY_CACHE = "_store_identity"
# What the user hears when the store refuses a code: locked here, or a ceiling reached (the
# number's: the holder's own channels still work and are named; or this source's).
# Messages that leave a flow rather than answer it: an expired identity is not proved again
# for them (转人工 gets a human, not a new code).
LEAVING_INTENTS = frozenset({"request_human", "goodbye", "deny"})
LIMIT_RESPONSES = {
    "locked": "utter_phone_locked",
    "hourly_limit": "utter_code_hourly_limit",
    "daily_limit": "utter_code_daily_limit",
    "source_limit": "utter_code_source_limit",
}


def clean_phone(value: Any) -> Optional[str]:
    """The 11-digit mobile number in `value`, or None when it is not one (core.phone)."""
    return parse_mobile(value)


def _latest_user_event(tracker: Tracker) -> Optional[Dict[str, Any]]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return None


def _latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    event = _latest_user_event(tracker)
    metadata = (event or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def assertion_token(tracker: Tracker) -> Optional[object]:
    """The signed channel assertion the latest message carries (unverified), if any."""
    return _latest_metadata(tracker).get(assertions.METADATA_KEY)


def client_key(tracker: Tracker) -> Optional[str]:
    """The channel's keyed hash of the client address (per-source ceilings), if it gave one."""
    value = _latest_metadata(tracker).get(assertions.CLIENT_KEY)
    return value if isinstance(value, str) and value else None


def channel_identity(tracker: Tracker, runtime: Runtime) -> Optional[assertions.Assertion]:
    """The channel's verified assertion for this very conversation, or None.

    An IVR caller id only says where to send a code; an SMS sender proves the phone (the
    store opens a session from it, see verified_phone).
    """
    token = assertion_token(tracker)
    if token is None:
        return None
    try:
        found = assertions.verify(
            runtime.settings.channel_assertion_key,
            token,
            conversation_id=tracker.sender_id,
            now=runtime.epoch(),
        )
    except assertions.InvalidAssertion:
        return None
    return found if clean_phone(found.phone) == found.phone else None


def _cache(tracker: Tracker) -> Dict[str, Any]:
    return tracker.__dict__.setdefault(_IDENTITY_CACHE, {})


def forget_identity(tracker: Tracker) -> None:
    """Drops what this action call remembered of the session (after a proof or an end)."""
    _cache(tracker).pop("session", None)


def verified_phone(tracker: Tracker, runtime: Runtime) -> Optional[str]:
    """The phone the store's session for this conversation holds, while it is fresh.

    A proving channel assertion in the latest message (an SMS sender's) is handed to the
    store, which verifies it and opens the session. Nothing in the tracker is trusted.
    """
    cache = _cache(tracker)
    token = assertion_token(tracker)
    if token is not None and cache.get("assertion") != token:
        cache["assertion"] = token
        if runtime.store.open_session_from_assertion(tracker.sender_id, token) is not None:
            cache.pop("session", None)
    now = runtime.epoch()
    known = cache.get("session")
    if known is None or not 0 <= now - known[0] < _SESSION_REUSE_SECONDS:
        known = (now, runtime.store.session_phone(tracker.sender_id))
        cache["session"] = known
    return known[1]


def pending_phone(tracker: Tracker, runtime: Runtime) -> Optional[str]:
    """The full number behind the `phone_number` slot (which keeps only the masked one)."""
    value = tracker.get_slot("phone_number")
    if not isinstance(value, str) or not value:
        return None
    typed = clean_phone(value)
    if typed is not None:
        return typed  # given in this very message, not yet masked
    # Read once per action call and slot value: a step that sends a code reads it again.
    cache = _cache(tracker).setdefault("pending", {})
    if value not in cache:
        cache[value] = runtime.store.conversation_phone(tracker.sender_id)
    phone = cache[value]
    if phone is None or phrases.mask_phone(phone) != value:
        return None
    return phone


def _another_number_given(tracker: Tracker, current: str) -> bool:
    """Whether the latest message gives a valid number other than the verified one."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "phone_number":
            given = clean_phone(entity.get("value"))
            if given is not None and given != current:
                return True
    return False


def touch_verification(tracker: Tracker, runtime: Runtime) -> List[EventType]:
    """Notes the last verified activity in the slot (a cache: the store's session decides)."""
    if verified_phone(tracker, runtime):
        return [SlotSet("verified_at", runtime.epoch())]
    return []


def answer_for_holder(
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    goal: str,
    ask_response: str,
    answer: Callable[[str, Runtime], None],
) -> List[EventType]:
    """Answers with the verified holder's data, or asks for the phone and remembers the goal."""
    runtime = get_runtime()
    phone = verified_phone(tracker, runtime)
    if not phone:
        events = explain_before_prompt(tracker, dispatcher)
        ask(dispatcher, tracker, ask_response)
        return events + [SlotSet("goal", goal)]
    try:
        answer(phone, runtime)
    except StoreUnavailable:
        dispatcher.utter_message(response="utter_system_busy")
    return touch_verification(tracker, runtime)


def code_source(phone: str, tracker: Tracker, runtime: Runtime) -> Dict[str, Any]:
    """Where a code for `phone` asked in this turn comes from, as the store's ceilings count it."""
    caller = channel_identity(tracker, runtime)
    # A code to the number an IVR call comes from counts against that line's own ceiling, so
    # strangers who used up the number's codes elsewhere cannot keep its holder out.
    own_line = caller is not None and caller.source == "caller_id" and caller.phone == phone
    return {"client_key": client_key(tracker), "own_line": own_line}


def _seconds_until(moment: Any, runtime: Runtime) -> int:
    # Rounded up: a wait said too short would end in another "too soon".
    return max(1, math.ceil((moment - runtime.clock()).total_seconds()))


def tell_limit(
    status: str, retry_at: Any, masked: str, dispatcher: CollectingDispatcher, runtime: Runtime
) -> None:
    """Says that no code may be sent now (locked here, or a ceiling), until when, and what
    else there is."""
    settings = runtime.settings
    retry = retry_at.astimezone(phrases.ZoneInfo(settings.timezone)).strftime("%H:%M")
    dispatcher.utter_message(
        response=LIMIT_RESPONSES[status],
        masked_phone=masked,
        retry_time=retry,
        sms_number=settings.cancel_sms_number,
        sms_keyword=settings.cancel_sms_keyword,
        hotline=settings.operator_hotline,
    )


def code_state_here(phone: str, tracker: Tracker, runtime: Runtime) -> Any:
    """The store's CodeState of `phone` in this conversation (a code to enter? when a new one?)."""
    return runtime.store.code_state(
        phone, tracker.sender_id, **code_source(phone, tracker, runtime)
    )


def tell_how_to_get_a_code(
    phone: str, state: Any, dispatcher: CollectingDispatcher, tracker: Tracker, runtime: Runtime
) -> None:
    """No code to enter here for `phone`: says so, and exactly when 重新发送 will send one."""
    masked = phrases.mask_phone(phone)
    if state.status == "ready":
        ask(dispatcher, tracker, "utter_code_not_sent_here", masked_phone=masked)
    elif state.status == "too_soon":
        ask(
            dispatcher,
            tracker,
            "utter_code_not_sent_here_wait",
            masked_phone=masked,
            seconds=_seconds_until(state.retry_at, runtime),
        )
    else:
        tell_limit(state.status, state.retry_at, masked, dispatcher, runtime)


def send_code(
    phone: str,
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    runtime: Runtime,
    resend: bool,
    sent_response: Optional[str] = None,
) -> str:
    """Issues a code, sends it by SMS and tells the user: sent | too_soon | blocked | failed."""
    masked = phrases.mask_phone(phone)
    issue = runtime.store.issue_code(
        phone,
        tracker.sender_id,
        tracker.get_latest_input_channel(),
        **code_source(phone, tracker, runtime),
    )
    if issue.status == "too_soon":
        dispatcher.utter_message(
            response="utter_code_recently_sent",
            masked_phone=masked,
            seconds=_seconds_until(issue.retry_at, runtime),
        )
        return "too_soon"
    if issue.status in LIMIT_RESPONSES:
        tell_limit(issue.status, issue.retry_at, masked, dispatcher, runtime)
        return "blocked"
    minutes = max(1, runtime.settings.code_ttl_seconds // 60)
    try:
        runtime.sms.send(phone, sms_templates.verification_code(issue.code, minutes))
        runtime.store.record_sms(phone, "verification", "sent", **audit_context(tracker))
    except SmsError as exc:
        logger.warning("verification SMS to %s failed: %s", masked, exc)
        runtime.store.record_sms(
            phone, "verification", "failed", error=str(exc), **audit_context(tracker)
        )
        runtime.store.withdraw_code(phone, tracker.sender_id, audit_context(tracker)["channel"])
        # The number stays this conversation's: nothing was sent, so 重新发送 may follow at once.
        dispatcher.utter_message(response="utter_code_sms_failed", masked_phone=masked)
        return "failed"
    response = sent_response or ("utter_code_resent" if resend else "utter_code_sent")
    dispatcher.utter_message(response=response, masked_phone=masked, minutes=minutes)
    return "sent"


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
            dispatcher.utter_message(response="utter_system_busy")
            return [SlotSet("selection_note", "unavailable"), SlotSet("requested_slot", None)]

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
            dispatcher.utter_message(response="utter_system_busy")
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
        return value if phone is not None and phrases.mask_phone(phone) == value else None

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
                return {"phone_number": phrases.mask_phone(phone)}
            runtime.store.remember_conversation_phone(tracker.sender_id, phone)
            if current is not None:
                # The user changed number: the identity proved for the other one ends now.
                runtime.store.end_session(tracker.sender_id, "another_number")
                forget_identity(tracker)
            send_code(phone, tracker, dispatcher, runtime, resend=False)
        except StoreUnavailable:
            dispatcher.utter_message(response="utter_system_busy")
            return {"phone_number": None}
        # A new number drops any identity proved for another one. The slot keeps it masked.
        return {
            "phone_number": phrases.mask_phone(phone),
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
            dispatcher.utter_message(response="utter_system_busy")
            return {"verification_code": None}
        if check.status == "ok":
            # The store opened this conversation's session with the check.
            forget_identity(tracker)
            dispatcher.utter_message(response="utter_verified")
            return {
                "verification_code": CODE_PLACEHOLDER,
                "verified_phone": phrases.mask_phone(phone),
                "verified_at": runtime.epoch(),
            }
        if check.status == "wrong":
            dispatcher.utter_message(
                response="utter_wrong_code", remaining=check.remaining_attempts
            )
            return {"verification_code": None}
        if check.status == "expired":
            dispatcher.utter_message(response="utter_code_expired")
            return {"verification_code": None}
        if check.status == "locked":
            retry = check.locked_until.astimezone(
                phrases.ZoneInfo(runtime.settings.timezone)
            ).strftime("%H:%M")
            dispatcher.utter_message(
                response="utter_phone_locked",
                masked_phone=phrases.mask_phone(phone),
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
            dispatcher.utter_message(response="utter_system_busy")
        return {"verification_code": None}


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
                    events.append(SlotSet("phone_number", phrases.mask_phone(phone)))
            if phone is None:
                dispatcher.utter_message(response="utter_need_phone_first")
                return []
            send_code(phone, tracker, dispatcher, runtime, resend=True)
        except StoreUnavailable:
            dispatcher.utter_message(response="utter_system_busy")
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
            dispatcher.utter_message(response="utter_system_busy")
            return []
        if outcome == "sent":
            return [
                SlotSet("phone_number", phrases.mask_phone(identity.phone)),
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
