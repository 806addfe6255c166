"""Validation of the three forms: cancel_form, identity_form and reason_form."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import phrases
from actions.memberships import active_choices, product_code
from actions.runtime import Runtime, get_runtime
from actions.selection import parse_choice
from actions.sms_consent import SMS_CHANNEL, read_sms_confirmation
from actions.turn import heard_ambiguously, latest_entities, latest_intent, named_services
from actions.verification import VerificationSlots, pending_phone, verified_phone
from core.statuses import SubscriptionStatus
from core.store.errors import StoreUnavailable
from turns.nbest import ASR_CHOICE

SKIPPED = "__skipped__"
GOALS = {
    "check_subscription": "check",
    "report_unexpected_charge": "charge",
    "query_cancellation": "query",
}
# Asked for a reason, users often answer with words that sound like a new request
# ("不想用了"); only these intents mean they moved on instead.
NOT_A_REASON = {
    "affirm",  # "确认取消" sent again after the cancellation is not a reason
    "request_human",
    "check_subscription",
    "query_cancellation",
    "ask_cancel_methods",
    "ask_consequences",
    "report_unexpected_charge",
    "ask_legal_rights",
    "resend_code",
    "greet",
    "goodbye",
}


# Cancelling needs an explicit yes: the classifier also reads noise ("阿巴阿巴", a stray "吧"
# from speech recognition, "嗯那啥") as affirm, so the words must say it too. A bare "嗯" is
# asked again rather than taken as consent to a paid change.
_YES = re.compile(
    r"确认|确定|是|对|好|可以|行|取消|退订|关|没问题|要|同意|办|ok|yes|^\s*/(?:affirm|cancel)",
    re.IGNORECASE,
)


_NO = re.compile(r"不|别|没|算了|否|先等")

# Spoken channels (channels/voice.py, channels/ivr: their Rasa input channel names). Speech
# recognition turns noise and half-heard words into text the classifier may read as a yes,
# so a spoken yes to cancelling counts only when the classifier is this sure (typed text: any
# yes the words also say). Below it the question is asked again.
SPOKEN_CHANNELS = frozenset({"voice", "ivr"})
SPOKEN_YES_MIN_CONFIDENCE = 0.85
# ...and when the recogniser says how sure it is of the words (parse data `asr`, chosen in the
# server among the hypotheses), a yes it half heard is asked again too.
SPOKEN_YES_MIN_ASR_CONFIDENCE = 0.6
YES_INTENTS = ("affirm", "cancel_subscription")


def says_yes(text: str) -> bool:
    """Whether the words themselves say yes (a button's /affirm payload counts); any
    negation ("先不取消", "别关") means it is not a yes, whatever the classifier thought."""
    if _NO.search(text.replace("没问题", "")):
        return False
    return bool(_YES.search(text))


def sure_enough(tracker: Tracker) -> bool:
    """Whether the latest yes was typed, or spoken, classified at least
    SPOKEN_YES_MIN_CONFIDENCE sure and (when the recogniser says) heard at least
    SPOKEN_YES_MIN_ASR_CONFIDENCE sure."""
    if tracker.get_latest_input_channel() not in SPOKEN_CHANNELS:
        return True
    confidence = (tracker.latest_message.get("intent") or {}).get("confidence")
    heard = (tracker.latest_message.get(ASR_CHOICE) or {}).get("confidence")
    if isinstance(heard, (int, float)) and heard < SPOKEN_YES_MIN_ASR_CONFIDENCE:
        return False
    return isinstance(confidence, (int, float)) and confidence >= SPOKEN_YES_MIN_CONFIDENCE


def select(picked: list, dispatcher: CollectingDispatcher, runtime: Runtime) -> Dict[str, Any]:
    """Slots for the picked memberships, telling the user about those we cannot cancel."""
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    cancellable = []
    notes = []
    for sub in picked:
        if sub.status != SubscriptionStatus.ACTIVE:
            dispatcher.utter_message(
                response="utter_already_cancelled",
                service=sub.product_name,
                cancelled_date=phrases.day(sub.cancelled_at, tz, today),
                reference=sub.reference or "",
            )
            notes.append("already_cancelled")
        elif sub.billing_channel == "app_store":
            dispatcher.utter_message(
                response="utter_app_store_steps",
                service=sub.product_name,
                period_end=phrases.day(sub.period_end, tz, today),
            )
            notes.append("app_store")
        else:
            cancellable.append(sub)
    if not cancellable:
        return {"subscription_id": None, "pending_subscriptions": [], "selection_note": notes[0]}
    return {
        "subscription_id": str(cancellable[0].id),
        "pending_subscriptions": [str(s.id) for s in cancellable[1:]],
        "cancel_confirmed": None,
        "selection_note": None,
    }


def select_by_names(
    names: List[str],
    phone: str,
    dispatcher: CollectingDispatcher,
    runtime: Runtime,
    ambiguous: bool = False,
) -> Dict[str, Any]:
    """Selects the named memberships; a name the holder does not have is said and listed.
    `ambiguous`: the names are the candidates of one sound-alike, not several memberships."""
    subs = runtime.store.subscriptions(phone)
    if ambiguous:
        return select_sound_alike(names, subs, dispatcher, runtime)
    picked = []
    for name in names:
        code = product_code(name, runtime)
        held = [s for s in subs if s.product_code == code]
        if not held:
            dispatcher.utter_message(response="utter_subscription_not_held", service=name)
            continue
        active = [s for s in held if s.status == SubscriptionStatus.ACTIVE]
        picked.append(active[0] if active else held[0])
    if not picked:
        if not any(s.status == SubscriptionStatus.ACTIVE for s in subs):
            return {"subscription_id": None, "selection_note": "none_active", "service": None}
        return {"subscription_id": None, "cancel_confirmed": None, "service": None}
    return select(picked, dispatcher, runtime)


def select_sound_alike(
    names: List[str], subs: list, dispatcher: CollectingDispatcher, runtime: Runtime
) -> Dict[str, Any]:
    """Several memberships sound like the name heard: the one the holder has active is meant;
    with none or more than one, the holder picks from the list: nothing is guessed."""
    codes = {product_code(name, runtime) for name in names}
    active = [s for s in subs if s.status == SubscriptionStatus.ACTIVE]
    meant = [s for s in active if s.product_code in codes]
    if len(meant) == 1:
        return select(meant, dispatcher, runtime)
    if not active:
        return {"subscription_id": None, "selection_note": "none_active", "service": None}
    return {"subscription_id": None, "cancel_confirmed": None, "service": None}


def resolve_after_verification(
    tracker: Tracker, phone: str, dispatcher: CollectingDispatcher, runtime: Runtime
) -> Dict[str, Any]:
    """Once the holder is known: the named membership, the only one, or a list to choose from."""
    names = latest_entities(tracker, "service") or named_services(tracker)
    if names:
        return select_by_names(names, phone, dispatcher, runtime, heard_ambiguously(tracker))
    choices = active_choices(runtime, phone)
    if not choices:
        return {"selection_note": "none_active"}
    if len(choices) == 1:
        return select(choices, dispatcher, runtime)
    return {}


class ValidateCancelForm(VerificationSlots, FormValidationAction):
    """Identity, then which membership, then an explicit confirmation."""

    def name(self) -> str:
        """Action name."""
        return "validate_cancel_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """Identity first; nothing more once the choice ended the flow."""
        if tracker.get_slot("selection_note"):
            return []
        slots = self.identity_slots(tracker, get_runtime())
        return slots or ["subscription_id", "cancel_confirmed"]

    async def validate_verification_code(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """After a correct code, goes straight to the membership the user named."""
        result = await super().validate_verification_code(slot_value, dispatcher, tracker, domain)
        if result.get("verified_phone") and not tracker.get_slot("subscription_id"):
            runtime = get_runtime()
            try:
                phone = pending_phone(tracker, runtime) or ""
                result.update(resolve_after_verification(tracker, phone, dispatcher, runtime))
            except StoreUnavailable:
                dispatcher.utter_message(response="utter_system_busy")
        return result

    async def extract_subscription_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A membership named in this message, a pick from the list, or the obvious one."""
        runtime = get_runtime()
        phone = verified_phone(tracker, runtime)
        if not phone:
            return {}
        requested = tracker.get_slot("requested_slot")
        current = tracker.get_slot("subscription_id")
        names = latest_entities(tracker, "service")
        try:
            if names:
                current_sub = runtime.store.subscription(int(current)) if current else None
                codes = [product_code(name, runtime) for name in names]
                ambiguous = heard_ambiguously(tracker)
                if current_sub and (
                    [current_sub.product_code] == codes
                    or (ambiguous and current_sub.product_code in codes)
                ):
                    return {}
                return select_by_names(names, phone, dispatcher, runtime, ambiguous)
            if requested == "subscription_id":
                choices = active_choices(runtime, phone)
                text = tracker.latest_message.get("text") or ""
                positions = parse_choice(text, len(choices))
                if positions:
                    return select([choices[p - 1] for p in positions], dispatcher, runtime)
                return {}
            if current is None and requested is None:
                return resolve_after_verification(tracker, phone, dispatcher, runtime)
        except StoreUnavailable:
            dispatcher.utter_message(response="utter_system_busy")
            return {"selection_note": "unavailable"}
        return {}

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Yes or no to the confirmation question, and nothing else."""
        if tracker.get_slot("requested_slot") != "cancel_confirmed":
            return {}
        intent = latest_intent(tracker)
        text = tracker.latest_message.get("text") or ""
        if tracker.get_latest_input_channel() == SMS_CHANNEL:
            strict = read_sms_confirmation(text, intent, tracker.events)
            if strict is not None:
                if strict.picked is not None:
                    number, service = strict.picked
                    dispatcher.utter_message(
                        response="utter_confirm_number_mismatch", number=number, service=service
                    )
                # None is set, not left out: the question is asked again (no form rejection).
                return {"cancel_confirmed": strict.confirmed}
        if latest_entities(tracker, "service"):
            return {}  # a membership named now is asked about first, not confirmed blindly
        if intent in YES_INTENTS and says_yes(text):
            if not sure_enough(tracker):
                dispatcher.utter_message(response="utter_confirm_spoken_unclear")
                return {"cancel_confirmed": None}  # asked again, not rejected
            return {"cancel_confirmed": True}
        if intent == "deny":
            return {"cancel_confirmed": False}
        return {}

    def validate_subscription_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Extraction already checked it."""
        return {"subscription_id": slot_value}

    def validate_cancel_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Extraction already checked it."""
        return {"cancel_confirmed": slot_value}


class ValidateIdentityForm(VerificationSlots, FormValidationAction):
    """Phone number and SMS code, for questions that need the holder's identity."""

    def name(self) -> str:
        """Action name."""
        return "validate_identity_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """Nothing once verified, or once verification is locked."""
        if tracker.get_slot("selection_note"):
            return []
        return self.identity_slots(tracker, get_runtime())

    async def extract_phone_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Remembers what the user wanted when they opened the form with a question."""
        goal = GOALS.get(latest_intent(tracker) or "")
        return {"goal": goal} if goal else {}


class ValidateReasonForm(FormValidationAction):
    """The one optional question after a cancellation: why."""

    def name(self) -> str:
        """Action name."""
        return "validate_reason_form"

    async def extract_cancel_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The user's words as the reason; 跳过/不想说 skips; a new request is not a reason."""
        if tracker.get_slot("requested_slot") != "cancel_reason":
            return {}
        intent = latest_intent(tracker)
        if intent == "deny":
            return {"cancel_reason": SKIPPED}
        if intent in NOT_A_REASON or latest_entities(tracker, "service"):
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        if text.startswith("/"):
            return {}  # a button or a channel's keyword (SMS "0000"), not words of the user
        return {"cancel_reason": text[:500]} if text else {}

    def validate_cancel_reason(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Stores the reason with every cancellation of this batch."""
        if slot_value and slot_value != SKIPPED:
            runtime = get_runtime()
            try:
                for reference in tracker.get_slot("batch_references") or []:
                    runtime.store.record_reason(reference, slot_value)
            except StoreUnavailable:
                pass  # the reason is optional; losing it must not block the user
        return {"cancel_reason": slot_value}
