"""No phone number or code in what Rasa keeps: the rules, the tracker store, the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from core.identity.assertion import DEV_KEY, METADATA_KEY, sign
from redaction import logs
from redaction.events import redact_event
from redaction.text import REDACTED, mask_phones_in_text, redact_text, redact_value
from redaction.tracker_store import RedactingTrackerStore

PHONE = "13800138000"
CODE = "482913"
MOBILE = re.compile(r"1[3-9]\d{9}")
DOMAIN = Domain.from_dict(
    {
        "slots": {
            "phone_number": {"type": "text", "mappings": [{"type": "custom"}]},
            "verification_code": {"type": "text", "mappings": [{"type": "custom"}]},
            "cancel_reason": {"type": "text", "mappings": [{"type": "custom"}]},
        }
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"我的手机号是{PHONE}", "我的手机号是138****8000"),
        ("+86 138-0013-8000", "138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("幺三八零零幺三八零零零", "138****8000"),
        ("幺三八 零零幺三 八零零零", "138****8000"),
        (f"验证码{CODE}", "验证码******"),
        ("验证码 482 913", "验证码 ******"),
        ("四八二九一三", "******"),
        ("参考号TD20261125ABC123", "参考号TD20261125ABC123"),
        ("TD20261125123456", "TD20261125123456"),
        ("本月扣了25元，12月4日到期", "本月扣了25元，12月4日到期"),
        ("置信度0.987654", "置信度0.987654"),
        ("一个会员两个月", "一个会员两个月"),
    ],
)
def test_redact_text_table(text: str, expected: str) -> None:
    """Phones are masked, codes hidden, references, money, dates and words left alone."""
    assert redact_text(text) == expected


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.text(max_size=20),
    suffix=st.text(max_size=20),
    middle=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
)
def test_no_mobile_number_survives(prefix: str, middle: str, suffix: str) -> None:
    """Whatever surrounds it, a mobile number's middle digits never survive redaction."""
    out = redact_text(f"{prefix} {middle} {suffix}")
    assert middle not in out
    assert redact_text(out) == out  # redacting twice changes nothing more


def test_redact_value_walks_json_like_values() -> None:
    """Every string inside dicts and lists is redacted; keys and other types are kept."""
    value = {"phone": PHONE, "list": [CODE, 3, None, {"x": f"tel {PHONE}"}], "n": 1.5}
    assert redact_value(value) == {
        "phone": "138****8000",
        "list": ["******", 3, None, {"x": "tel 138****8000"}],
        "n": 1.5,
    }


def test_redact_event_hides_the_code_slot_whatever_it_holds() -> None:
    """A code in the verification_code slot is hidden; the assistant's placeholder is kept."""
    assert redact_event(SlotSet("verification_code", "1 2 3").as_dict())["value"] == REDACTED
    assert redact_event(SlotSet("verification_code", "******").as_dict())["value"] == "******"
    assert redact_event(SlotSet("verification_code", None).as_dict())["value"] is None
    slot = redact_event(SlotSet("phone_number", PHONE).as_dict())
    assert (slot["name"], slot["value"]) == ("phone_number", "138****8000")


class _Broker(EventBroker):
    """Keeps what is published, as a real broker would send it."""

    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


def _conversation() -> DialogueStateTracker:
    tracker = DialogueStateTracker("conv-1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(
        UserUttered(
            f"我的号码是{PHONE}",
            {"name": "inform", "confidence": 0.9},
            [{"entity": "phone_number", "value": PHONE, "start": 5, "end": 16}],
            parse_data={"text": f"我的号码是{PHONE}"},
            input_channel="sms",
            metadata={"identity": {"phone": PHONE, "source": "sms_sender"}},
        )
    )
    tracker.update(SlotSet("phone_number", PHONE))
    tracker.update(BotUttered("验证码已发送到138****8000，5分钟内有效。"))
    tracker.update(UserUttered(f"验证码是{CODE}", {"name": "inform", "confidence": 0.9}))
    tracker.update(SlotSet("verification_code", CODE))
    tracker.update(SlotSet("verification_code", "******"))
    tracker.update(SlotSet("cancel_reason", f"换号了，新号{PHONE}"))
    return tracker


def _assert_clean(blob: str) -> None:
    assert PHONE not in blob
    assert CODE not in blob
    assert not MOBILE.search(blob)


@pytest.mark.parametrize("inner", [None, "sql"])
def test_the_store_keeps_and_publishes_only_redacted_events(tmp_path, inner) -> None:
    """What is stored, read back and published has no phone and no code; the turn's own tracker
    is left complete."""
    broker = _Broker()
    config = None
    if inner == "sql":
        config = {"type": "sql", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    store = RedactingTrackerStore(DOMAIN, event_broker=broker, store=config)
    expected_inner = SQLTrackerStore if inner else InMemoryTrackerStore
    assert isinstance(store.inner, expected_inner)
    tracker = _conversation()
    asyncio.run(store.save(tracker))

    stored = asyncio.run(store.retrieve("conv-1"))
    blob = json.dumps([e.as_dict() for e in stored.events], ensure_ascii=False)
    _assert_clean(blob)
    assert "138****8000" in blob
    assert stored.get_slot("phone_number") == "138****8000"
    assert stored.get_slot("verification_code") == "******"
    assert stored.get_slot("cancel_reason") == "换号了，新号138****8000"
    assert [e.type_name for e in stored.events] == [e.type_name for e in tracker.events]

    _assert_clean(json.dumps(broker.published, ensure_ascii=False))
    assert len(broker.published) == len(tracker.events)
    # The live tracker of the turn is not touched: actions of this turn see the real input.
    assert tracker.get_slot("phone_number") == PHONE
    if inner == "sql":
        _assert_clean((tmp_path / "tracker.db").read_bytes().decode("utf-8", "replace"))


def test_a_second_save_adds_only_the_new_events(tmp_path) -> None:
    """Saving again after one more turn stores and publishes just that turn, redacted."""
    broker = _Broker()
    config = {"type": "sql", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    store = RedactingTrackerStore(DOMAIN, event_broker=broker, store=config)
    tracker = _conversation()
    asyncio.run(store.save(tracker))
    count = len(broker.published)
    tracker.update(UserUttered(f"换成{PHONE}吧", {"name": "inform", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    assert len(broker.published) == count + 1
    assert broker.published[-1]["text"] == "换成138****8000吧"
    assert len(asyncio.run(store.retrieve("conv-1")).events) == len(tracker.events)


def test_events_read_back_are_not_redacted_again(monkeypatch) -> None:
    """A turn redacts only its own new events; what came from the store is already clean."""
    import redaction.tracker_store as module

    store = RedactingTrackerStore(DOMAIN)
    asyncio.run(store.save(_conversation()))
    tracker = asyncio.run(store.retrieve("conv-1"))
    seen: List[Dict[str, Any]] = []

    def counting(event: Dict[str, Any]) -> Dict[str, Any]:
        seen.append(event)
        return redact_event(event)

    monkeypatch.setattr(module, "redact_event", counting)
    tracker.update(UserUttered(f"换成{PHONE}吧", {"name": "inform", "confidence": 1.0}))
    asyncio.run(store.save(tracker))
    assert [e["event"] for e in seen] == ["user"]
    stored = asyncio.run(store.retrieve("conv-1"))
    assert stored.events[-1].text == "换成138****8000吧"
    _assert_clean(json.dumps([e.as_dict() for e in stored.events], ensure_ascii=False))


def test_log_records_are_redacted_whatever_the_handler(caplog) -> None:
    """Once installed, every record's message (and traceback) is redacted at creation."""
    logs.install()
    logger = logging.getLogger("rasa.core.processor")
    with caplog.at_level(logging.DEBUG):
        logger.debug("Received user message '%s' with intent '%s'", f"号码{PHONE}", "inform")
        try:
            raise ValueError(f"bad code {CODE}")
        except ValueError:
            logger.exception("failed for %s", PHONE)
    text = caplog.text
    _assert_clean(text)
    assert "号码138****8000" in text
    assert "bad code ******" in text


def test_the_handler_filter_for_logging_config_files() -> None:
    """RedactingFilter rewrites a record and never drops it."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "tel %s", (PHONE,), None)
    assert logs.RedactingFilter().filter(record) is True
    assert record.getMessage() == "tel 138****8000"


def test_identifiers_are_never_rewritten() -> None:
    """A message id with six digits in a row stays as it is; the text next to it is redacted."""
    event = UserUttered(
        f"号码{PHONE}", {"name": "inform", "confidence": 1.0}, message_id="ab123456cd7890123"
    ).as_dict()
    redacted = redact_event(event)
    assert redacted["message_id"] == "ab123456cd7890123"
    assert redacted["text"] == "号码138****8000"
    assert redact_value({"parse_data": {"message_id": "123456"}}) == {
        "parse_data": {"message_id": "123456"}
    }


def _assertion_turn(token: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker("sms:abc", DOMAIN.slots)
    metadata = {METADATA_KEY: token, "identity": {"phone": PHONE}, "client_source": "k1"}
    tracker.update(SlotSet("session_started_metadata", dict(metadata)))
    tracker.update(
        UserUttered(
            "查一下我的会员",
            {"name": "check_subscription", "confidence": 1.0},
            input_channel="sms",
            metadata=dict(metadata),
        )
    )
    return tracker


def test_channel_assertions_are_never_stored_or_published(tmp_path) -> None:
    """The signed assertion (the phone in base64) and `identity` are dropped from the metadata
    of every stored and published event; other metadata stays."""
    token = sign(DEV_KEY, conversation_id="sms:abc", phone=PHONE, source="sms_sender")
    broker = _Broker()
    config = {"type": "sql", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    store = RedactingTrackerStore(DOMAIN, event_broker=broker, store=config)
    tracker = _assertion_turn(token)
    asyncio.run(store.save(tracker))
    stored = asyncio.run(store.retrieve("sms:abc"))
    user = [e for e in stored.events if isinstance(e, UserUttered)][0]
    assert user.metadata == {"client_source": "k1"}
    assert stored.get_slot("session_started_metadata") == {"client_source": "k1"}
    body, mac = token.split(".")[1:]
    for blob in (
        json.dumps(broker.published, ensure_ascii=False),
        json.dumps([e.as_dict() for e in stored.events], ensure_ascii=False),
        (tmp_path / "tracker.db").read_bytes().decode("utf-8", "replace"),
    ):
        assert body not in blob and mac not in blob and "identity" not in blob
        _assert_clean(blob)
    # The turn itself still has them: the action server verifies the assertion.
    assert tracker.latest_message.metadata[METADATA_KEY] == token


def test_logs_hide_assertion_tokens(caplog) -> None:
    """A log line quoting a message's metadata shows no assertion token."""
    token = sign(DEV_KEY, conversation_id="ivr:call-1", phone=PHONE, source="caller_id")
    logs.install()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("rasa.core.channels").debug("metadata %s", {METADATA_KEY: token})
    assert token.split(".")[1] not in caplog.text
    assert REDACTED in caplog.text
    assert redact_text(f"token={token};") == f"token={REDACTED};"
    assert redact_text("rasa v1.2.3") == "rasa v1.2.3"


@pytest.mark.parametrize(
    "text", ["138\u20130013\u20138000", "１３８－００１３－８０００", "138\u20140013\u20148000"]
)
def test_log_records_mask_phones_with_any_dash(caplog, text: str) -> None:
    """What the NLU reads as a phone is masked in a log record too."""
    logs.install()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("rasa.core.processor").debug("Received user message '%s'", text)
    assert "138****8000" in caplog.text
    assert "0013" not in caplog.text and "００１３" not in caplog.text


def test_a_written_number_beside_a_spoken_digit_is_still_masked() -> None:
    """Found by the audit log's property test: "13000000000一" read as one 12-digit run."""
    assert mask_phones_in_text("13000000000一") == "130****0000一"
    assert mask_phones_in_text("130 0000 0000一") == "130****0000一"
    redacted = redact_text("我的号码13800138000一直扣费")
    assert "13800138000" not in redacted and "0013" not in redacted
    assert redacted.startswith("我的号码") and redacted.endswith("直扣费")
