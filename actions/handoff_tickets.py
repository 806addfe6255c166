"""Handing a conversation to a human: a ticket with a masked summary, and the SMS with its
reference. Used by the handoff actions (actions/handoff.py) and short answers."""

from __future__ import annotations

from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import phrases
from actions.holder import verified_phone
from actions.outage import store_busy
from actions.runtime import get_runtime
from actions.sending import send_and_record
from actions.turn import named_services
from core.sms import templates as sms_templates
from core.statuses import SmsKind
from core.store.errors import StoreUnavailable
from redaction.text import redact_text

RECENT_MESSAGES = 6
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
