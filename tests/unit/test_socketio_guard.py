"""The socket.io payload checks: whatever a client emits, Rasa's handler gets a safe object."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.socketio_guard import checked_payload, checked_session_request, valid_session_id
from core.identity.assertion import RESERVED_METADATA_KEYS

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
METADATA = JSON | st.dictionaries(st.sampled_from(["a", *RESERVED_METADATA_KEYS]), JSON)
PAYLOADS = JSON | st.fixed_dictionaries(
    {"message": JSON, "session_id": JSON}, optional={"metadata": METADATA}
)


@given(PAYLOADS)
def test_a_checked_payload_is_safe_for_rasa(data: Any) -> None:
    """Either dropped, or an object with a string message and a dict of metadata."""
    payload = checked_payload(data, "metadata")
    if payload is not None:
        assert isinstance(payload["message"], str)
        assert isinstance(payload["metadata"], dict)
        assert not set(RESERVED_METADATA_KEYS) & set(payload["metadata"])
        session = payload.get("session_id")
        assert session is None or (isinstance(session, str) and len(session) <= 128)


@given(JSON)
def test_a_checked_session_request_is_an_object_with_an_unguessable_id(data: Any) -> None:
    """Rasa's session_request handler indexes the payload: it always gets a dict, and the
    session it confirms is at least 32 URL-safe characters."""
    request = checked_session_request(data)
    assert isinstance(request, dict)
    assert valid_session_id(request["session_id"])


@pytest.mark.parametrize("asked", [None, "", "1", "abc", "a" * 31, "ivr:call-42", "a b" * 20])
def test_a_guessable_session_id_is_replaced_by_a_fresh_random_one(asked: Any) -> None:
    """Too short, namespaced or odd ids are never confirmed: a fresh 128-bit id instead."""
    first = checked_session_request({"session_id": asked})["session_id"]
    second = checked_session_request({"session_id": asked})["session_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("kept", [uuid.uuid4().hex, str(uuid.uuid4()), "A-_9" * 8, "f" * 128])
def test_ids_from_the_page_rasa_and_rasa_webchat_are_kept(kept: str) -> None:
    """The page's 32 hex characters, uuid4 with or without dashes (Rasa, rasa-webchat)."""
    assert checked_session_request({"session_id": kept}) == {"session_id": kept}


def test_reserved_metadata_keys_are_dropped_from_what_a_client_sends() -> None:
    """Only a channel may put an identity, an assertion or the client source in metadata."""
    forged = {key: "forged" for key in RESERVED_METADATA_KEYS}
    payload = checked_payload(
        {"message": "hi", "metadata": {**forged, "a": 1}, "customData": json.dumps(forged)},
        "metadata",
    )
    assert payload["metadata"] == {"a": 1} and payload["customData"] == {}


def test_metadata_json_text_is_parsed_and_kept() -> None:
    """Metadata sent as a JSON string (rasa-webchat does) is parsed; a good payload is kept."""
    payload = checked_payload({"message": "hi", "metadata": '{"a": 1}'}, "metadata")
    assert payload == {"message": "hi", "metadata": {"a": 1}}
