"""SMS from the actions: sent through the gateway, then recorded in the store (never the text)."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker

from actions.outage import audit_context
from actions.runtime import Runtime
from core.phone import mask_phone
from core.sms import SmsError
from core.statuses import SmsKind, SmsStatus

logger = logging.getLogger(__name__)


def send_and_record(
    runtime: Runtime, tracker: Tracker, phone: str, kind: SmsKind, text: str
) -> bool:
    """Sends `text` to `phone` and records that an SMS of `kind` was sent or failed (with the
    gateway's error, never the text); whether it went out. A store outage still raises."""
    try:
        runtime.sms.send(phone, text)
    except SmsError as exc:
        logger.warning("%s SMS to %s failed: %s", kind, mask_phone(phone), exc)
        runtime.store.record_sms(
            phone, kind, SmsStatus.FAILED, error=str(exc), **audit_context(tracker)
        )
        return False
    runtime.store.record_sms(phone, kind, SmsStatus.SENT, **audit_context(tracker))
    return True
