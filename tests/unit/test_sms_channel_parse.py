"""The SMS webhook's request checks: JSON and form bodies, numbers, text, message ids."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, RequestRejected
from channels.sms.parse import InboundSms, normalize_mobile, parse_sms_request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def body(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def test_a_json_sms_passes() -> None:
    """from, to, text and message_id come through, the sender as 11 digits."""
    sms = parse_sms_request(
        body(**{"from": "+86 138-0013-8000", "to": "10086", "text": "0000", "message_id": 7}),
        JSON,
    )
    assert sms == InboundSms("13800138000", "10086", "0000", "7", False)


def test_a_form_encoded_sms_passes_with_gateway_field_names() -> None:
    """Many gateways post forms, some with From/To/Body/MessageSid: all understood."""
    raw = urlencode(
        {"From": "8613900139000", "To": "1065800", "Body": "取消 腾讯视频", "MessageSid": "S1"}
    )
    sms = parse_sms_request(raw.encode("utf-8"), f"{FORM}; charset=utf-8")
    assert (sms.phone, sms.to, sms.text, sms.message_id) == (
        "13900139000",
        "1065800",
        "取消 腾讯视频",
        "S1",
    )


def test_full_width_digits_and_integers_are_numbers() -> None:
    """１３８… typed full-width, or a JSON integer, is the same phone."""
    assert normalize_mobile("１３８００１３８０００") == "13800138000"
    sms = parse_sms_request(body(**{"from": 13800138000, "to": 10086, "text": "1"}), "")
    assert (sms.phone, sms.to) == ("13800138000", "10086")


def test_control_characters_are_removed_and_long_text_flagged() -> None:
    """Invisible characters go; a text over the limit is cut and flagged, not rejected."""
    text = "取\u200b消\x00"
    sms = parse_sms_request(body(**{"from": "13800138000", "to": "10086", "text": text}))
    assert sms.text == "取消"
    long = parse_sms_request(body(**{"from": "13800138000", "to": "10086", "text": "退" * 600}))
    assert long.too_long and len(long.text) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", JSON, 400, "invalid_json"),
        (b"\xff\xfe", JSON, 400, "invalid_utf8"),
        (b"[1]", JSON, 400, "not_an_object"),
        (body(to="10086", text="hi"), JSON, 400, "missing_from"),
        (body(**{"from": "12345", "to": "10086", "text": "hi"}), JSON, 400, "invalid_from"),
        (body(**{"from": True, "to": "10086", "text": "hi"}), JSON, 400, "invalid_from"),
        (body(**{"from": ["138"], "to": "10086", "text": "hi"}), JSON, 400, "invalid_from"),
        (body(**{"from": "13800138000", "text": "hi"}), JSON, 400, "missing_to"),
        (body(**{"from": "13800138000", "to": "10", "text": "hi"}), JSON, 400, "invalid_to"),
        (body(**{"from": "13800138000", "to": "abc", "text": "hi"}), JSON, 400, "invalid_to"),
        (body(**{"from": "13800138000", "to": "10086"}), JSON, 400, "missing_text"),
        (body(**{"from": "13800138000", "to": "10086", "text": 5}), JSON, 400, "invalid_text"),
        (
            body(**{"from": "13800138000", "to": "10086", "text": "a", "message_id": "x" * 200}),
            JSON,
            400,
            "invalid_message_id",
        ),
        (
            body(**{"from": "13800138000", "to": "10086", "text": "a", "message_id": {}}),
            JSON,
            400,
            "invalid_message_id",
        ),
        (b"from=13800138000&from=13900139000&to=1&text=a", FORM, 400, "duplicate_field"),
        (b"from=13800138000&to=10086&text=%FF", FORM, 400, "invalid_utf8"),
        (b"justtext", FORM, 400, "invalid_form"),
        (b"&".join([b"a=1"] * 50), FORM, 400, "invalid_form"),
        (b"<sms/>", "application/xml", 415, "unsupported_media_type"),
        (b"{" + b" " * MAX_BODY_BYTES + b"}", JSON, 413, "body_too_large"),
    ],
)
def test_bad_requests_are_rejected_with_a_reason(
    raw: bytes, content_type: str, status: int, code: str
) -> None:
    """Each malformed request names what is wrong, with a 4xx status."""
    with pytest.raises(RequestRejected) as caught:
        parse_sms_request(raw, content_type)
    assert (caught.value.status, caught.value.code) == (status, code)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "from": JSONISH | st.sampled_from(["13800138000", "+8613900139000", "1380013800"]),
        "to": JSONISH | st.just("10086"),
        "text": JSONISH,
        "message_id": JSONISH,
    },
)


def _outcome(raw: bytes, content_type: str) -> None:
    try:
        sms = parse_sms_request(raw, content_type)
    except RequestRejected as exc:
        assert 400 <= exc.status < 500 and exc.code
        return
    assert len(sms.phone) == 11 and sms.phone.isdigit() and sms.phone.isascii()
    assert len(sms.text) <= MAX_MESSAGE_CHARS
    assert "\x00" not in sms.text


@settings(max_examples=300, deadline=None)
@given(FIELDS)
def test_any_json_object_is_accepted_or_rejected_cleanly(fields: dict) -> None:
    """Whatever the field types, the result is a checked SMS or a 4xx rejection."""
    _outcome(json.dumps(fields).encode("utf-8"), JSON)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["", JSON, FORM, "text/plain", "image/png"]))
def test_any_bytes_are_accepted_or_rejected_cleanly(raw: bytes, content_type: str) -> None:
    """Arbitrary bytes under any content type never raise anything but a 4xx rejection."""
    _outcome(raw, content_type)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["from", "to", "text", "Body", "x"]), st.text(max_size=20)))
def test_any_form_is_accepted_or_rejected_cleanly(fields: dict) -> None:
    """Form bodies with any values: a checked SMS or a 4xx rejection."""
    _outcome(urlencode(fields).encode("utf-8"), FORM)
