"""actions/sending.py: one way to send an SMS and record it (never its text)."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from actions.sending import send_and_record
from core.sms import SmsError
from core.statuses import SmsKind
from tests.conftest import make_tracker

PHONE = "13800138000"


class _Gateway:
    def __init__(self, fail: bool) -> None:
        self.fail, self.sent = fail, []

    def send(self, to: str, text: str) -> None:
        if self.fail:
            raise SmsError("gateway down")
        self.sent.append((to, text))


class _Store:
    def __init__(self) -> None:
        self.records: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = []

    def record_sms(self, *args: Any, **kwargs: Any) -> None:
        self.records.append((args, kwargs))


class _Runtime:
    def __init__(self, fail: bool) -> None:
        self.sms, self.store = _Gateway(fail), _Store()


def test_a_sent_sms_is_recorded_as_sent_without_its_text() -> None:
    runtime = _Runtime(fail=False)
    tracker = make_tracker(sender_id="c1", channel="socketio")
    assert send_and_record(runtime, tracker, PHONE, SmsKind.RECEIPT, "您的验证码 123456") is True
    assert runtime.sms.sent == [(PHONE, "您的验证码 123456")]
    assert runtime.store.records == [
        ((PHONE, "receipt", "sent"), {"conversation_id": "c1", "channel": "socketio"})
    ]


def test_a_failed_sms_is_recorded_with_the_error_and_reported(caplog) -> None:
    runtime = _Runtime(fail=True)
    assert send_and_record(runtime, make_tracker(), PHONE, SmsKind.HANDOFF, "x") is False
    ((args, kwargs),) = runtime.store.records
    assert args == (PHONE, "handoff", "failed") and kwargs["error"] == "gateway down"
    assert "138****8000" in caplog.text and PHONE not in caplog.text
