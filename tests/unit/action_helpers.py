"""Helpers shared by the action tests: run an action, read what it said and set."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

from rasa_sdk.executor import CollectingDispatcher

from actions.phrases import mask_phone
from actions.verification import CODE_PLACEHOLDER

ZHANG = "13800138000"


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    """The response names the action uttered, in order."""
    return [m["response"] for m in dispatcher.messages]


def slots_after(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The value each slot ends with after `events` (requested_slot included)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def prove_phone(runtime: Any, phone: str = ZHANG, sender_id: str = "test-user") -> None:
    """Makes the store open a verified session: `sender_id` proved `phone` with a code."""
    if runtime.store.session_phone(sender_id) == phone:
        return
    issue = runtime.store.issue_code(phone, sender_id)
    assert issue.status == "issued", issue
    assert runtime.store.check_code(phone, issue.code, sender_id).status == "ok"


def verified_slots(
    runtime: Any, phone: str = ZHANG, sender_id: str = "test-user", **slots: Any
) -> Dict[str, Any]:
    """Slots of a conversation whose holder proved `phone` just now (masked, as kept)."""
    prove_phone(runtime, phone, sender_id)
    return {
        "phone_number": mask_phone(phone),
        "verification_code": CODE_PLACEHOLDER,
        "verified_phone": mask_phone(phone),
        "verified_at": runtime.epoch(),
        **slots,
    }


def run_action(action: Any, tracker: Any) -> Tuple[List[Dict[str, Any]], CollectingDispatcher]:
    """Runs a plain action with an empty domain; its events and dispatcher."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, dispatcher
