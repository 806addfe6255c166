"""Verification codes: where one is asked from, sending it, and saying when none can be sent."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import phrases
from actions.asking import ask
from actions.holder import channel_identity, client_key
from actions.outage import audit_context
from actions.runtime import Runtime
from actions.sending import send_and_record
from core.sms import templates as sms_templates
from core.statuses import CodeIssueStatus, SmsKind

# What the user hears when the store refuses a code: locked here, or a ceiling reached (the
# number's: the holder's own channels still work and are named; or this source's).
LIMIT_RESPONSES = {
    CodeIssueStatus.LOCKED: "utter_phone_locked",
    CodeIssueStatus.HOURLY_LIMIT: "utter_code_hourly_limit",
    CodeIssueStatus.DAILY_LIMIT: "utter_code_daily_limit",
    CodeIssueStatus.SOURCE_LIMIT: "utter_code_source_limit",
}


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
    if state.status == CodeIssueStatus.READY:
        ask(dispatcher, tracker, "utter_code_not_sent_here", masked_phone=masked)
    elif state.status == CodeIssueStatus.TOO_SOON:
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
    if issue.status == CodeIssueStatus.TOO_SOON:
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
    text = sms_templates.verification_code(issue.code, minutes)
    if not send_and_record(runtime, tracker, phone, SmsKind.VERIFICATION, text):
        runtime.store.withdraw_code(phone, tracker.sender_id, audit_context(tracker)["channel"])
        # The number stays this conversation's: nothing was sent, so 重新发送 may follow at once.
        dispatcher.utter_message(response="utter_code_sms_failed", masked_phone=masked)
        return "failed"
    response = sent_response or ("utter_code_resent" if resend else "utter_code_sent")
    dispatcher.utter_message(response=response, masked_phone=masked, minutes=minutes)
    return "sent"
