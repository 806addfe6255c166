"""The IVR platform's events: what is accepted, what is refused and why, and the caller number."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, RequestRejected
from channels.ivr.events import IvrEvent, caller_mobile, parse_ivr_event


def body(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def test_each_event_type_is_read_with_its_fields() -> None:
    """start, speech (text + confidence), dtmf (digits) and hangup, with the caller number."""
    assert parse_ivr_event(body(call_id="c1", type="start", ani="+8613800138000")) == IvrEvent(
        "c1", "start", ani="+8613800138000"
    )
    speech = parse_ivr_event(body(call_id="c1", type="speech", text=" 取消绿钻 ", confidence=0.8))
    assert (speech.text, speech.confidence) == ("取消绿钻", 0.8)
    assert parse_ivr_event(body(call_id=42, type="dtmf", digits="138#")).digits == "138#"
    assert parse_ivr_event(body(call_id="c1", type="hangup")).type == "hangup"


def test_sender_id_is_prefixed_with_ivr() -> None:
    """Rasa sees the call as conversation ivr-<call id>."""
    assert parse_ivr_event(body(call_id="abc-1", type="start")).sender_id == "ivr:abc-1"


def test_speech_without_confidence_and_empty_speech_are_allowed() -> None:
    """Platforms that report no confidence, or silence, are not errors."""
    event = parse_ivr_event(body(call_id="c", type="speech", text=""))
    assert (event.text, event.confidence) == ("", None)


def test_control_characters_are_removed_and_long_text_is_cut() -> None:
    """ASR text is cleaned like chat text; an absurdly long turn is cut, not refused."""
    event = parse_ivr_event(body(call_id="c", type="speech", text="取消\x00绿\u200b钻"))
    assert event.text == "取消绿钻"
    long = parse_ivr_event(body(call_id="c", type="speech", text="退" * 2000))
    assert len(long.text) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_utf8"),
        (b"[]", 400, "not_an_object"),
        (b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}", 413, "body_too_large"),
        (body(type="start"), 400, "missing_call_id"),
        (body(call_id="", type="start"), 400, "invalid_call_id"),
        (body(call_id="a b", type="start"), 400, "invalid_call_id"),
        (body(call_id="x" * 65, type="start"), 400, "invalid_call_id"),
        (body(call_id=True, type="start"), 400, "invalid_call_id"),
        (body(call_id={"a": 1}, type="start"), 400, "invalid_call_id"),
        (body(call_id="c"), 400, "missing_type"),
        (body(call_id="c", type="ring"), 400, "invalid_type"),
        (body(call_id="c", type=["start"]), 400, "invalid_type"),
        (body(call_id="c", type="start", ani=13800138000), 400, "invalid_ani"),
        (body(call_id="c", type="start", ani="1" * 65), 400, "invalid_ani"),
        (body(call_id="c", type="speech"), 400, "missing_text"),
        (body(call_id="c", type="speech", text=["x"]), 400, "invalid_text"),
        (body(call_id="c", type="speech", text="x", confidence="high"), 400, "invalid_confidence"),
        (body(call_id="c", type="speech", text="x", confidence=1.5), 400, "invalid_confidence"),
        (body(call_id="c", type="speech", text="x", confidence=True), 400, "invalid_confidence"),
        (
            b'{"call_id": "c", "type": "speech", "text": "x", "confidence": NaN}',
            400,
            "invalid_confidence",
        ),
        (body(call_id="c", type="dtmf"), 400, "missing_digits"),
        (body(call_id="c", type="dtmf", digits="12a"), 400, "invalid_digits"),
        (body(call_id="c", type="dtmf", digits="1" * 33), 400, "invalid_digits"),
        (body(call_id="c", type="dtmf", digits=1.5), 400, "invalid_digits"),
    ],
)
def test_malformed_events_are_refused_with_a_reason(raw: bytes, status: int, code: str) -> None:
    """Each malformed event names what is wrong, with a 4xx status and a Chinese message."""
    with pytest.raises(RequestRejected) as caught:
        parse_ivr_event(raw)
    assert (caught.value.status, caught.value.code) == (status, code)
    message = templates.IVR_ERROR_MESSAGES.get(code) or templates.ERROR_MESSAGES.get(code)
    assert message and any("\u4e00" <= ch <= "\u9fff" for ch in message)


@pytest.mark.parametrize(
    ("ani", "phone"),
    [
        ("13800138000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("01088886666", None),  # a Beijing landline
        ("10086", None),
        ("12800138000", None),  # no mobile starts with 12
        ("anonymous", None),
        ("", None),
        (None, None),
        ("+1 415 555 0100", None),
    ],
)
def test_caller_number_is_a_mainland_mobile_or_nothing(ani, phone) -> None:
    """+86/0086 prefixes are stripped; landlines, short numbers and hidden callers give None."""
    assert caller_mobile(ani) == phone


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["call_id", "type", "text", "confidence", "digits", "ani", "extra"]),
        _VALUES,
    ),
    st.sampled_from([None, "start", "speech", "dtmf", "hangup"]),
)
def test_any_object_is_accepted_or_refused_with_4xx(fields, kind) -> None:
    """Whatever the shape, the parser returns an event or a 4xx rejection, never crashes."""
    if kind is not None:
        fields = {**fields, "type": kind}
    try:
        event = parse_ivr_event(json.dumps(fields).encode("utf-8"))
    except RequestRejected as exc:
        assert 400 <= exc.status < 500
        assert exc.code in templates.IVR_ERROR_MESSAGES or exc.code in templates.ERROR_MESSAGES
        return
    assert event.type in ("start", "speech", "dtmf", "hangup")
    assert event.sender_id.startswith("ivr:")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_accepted_or_refused_with_4xx(raw: bytes) -> None:
    """Random bytes never crash the parser."""
    try:
        parse_ivr_event(raw)
    except RequestRejected as exc:
        assert 400 <= exc.status < 500
