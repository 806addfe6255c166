"""The 个人信息保护法 notice: said once per conversation, the first time it collects a phone.

A conversation collects a phone when the bot asks for it or sends a code to it, or when the
channel brings the user's number itself (an SMS sender, an IVR caller: their messages carry
a channel assertion). The slot only remembers that the notice was given; it authorises
nothing.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import get_runtime
from core.identity.assertion import METADATA_KEY

NOTICE_SLOT = "privacy_notice_given"
NOTICE_RESPONSE = "utter_privacy_notice"
# The bot's messages that ask for a phone number or use one the user gave.
COLLECTING_RESPONSES = frozenset(
    {
        "utter_ask_phone_number",
        "utter_ask_phone_number_for_cancel",
        "utter_ask_phone_number_generic_cancel",
        "utter_ask_phone_for_check",
        "utter_ask_phone_for_charge",
        "utter_ask_reference_or_phone",
        "utter_ask_phone_again",
        "utter_code_sent",
        "utter_code_sent_to_caller",
    }
)


def _channel_brings_a_phone(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return isinstance(metadata, dict) and METADATA_KEY in metadata
    return False


def notice_message() -> Dict[str, Any]:
    """The notice as a dispatcher message, with the operator and retention from the settings."""
    settings = get_runtime().settings
    notice = CollectingDispatcher()
    notice.utter_message(
        response=NOTICE_RESPONSE,
        operator=settings.operator_name,
        contact=settings.privacy_contact,
        code_hours=settings.code_retention_hours,
        conversation_days=settings.conversation_retention_days,
    )
    return notice.messages[0]


def privacy_notice(tracker: Tracker, dispatcher: CollectingDispatcher) -> List[EventType]:
    """Puts the notice before the first message that collects a phone, once per conversation."""
    if tracker.get_slot(NOTICE_SLOT):
        return []
    messages = dispatcher.messages
    first = next(
        (i for i, m in enumerate(messages) if m.get("response") in COLLECTING_RESPONSES), None
    )
    if first is None:
        if not _channel_brings_a_phone(tracker):
            return []
        first = 0
    messages.insert(first, notice_message())
    return [SlotSet(NOTICE_SLOT, True)]
