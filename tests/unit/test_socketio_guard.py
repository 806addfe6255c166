"""The socket.io payload checks: whatever a client emits, Rasa's handler gets a safe object."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from channels.socketio_guard import checked_payload, checked_session_request

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
PAYLOADS = JSON | st.fixed_dictionaries(
    {"message": JSON, "session_id": JSON}, optional={"metadata": JSON}
)


@given(PAYLOADS)
def test_a_checked_payload_is_safe_for_rasa(data: Any) -> None:
    """Either dropped, or an object with a string message and a dict of metadata."""
    payload = checked_payload(data, "metadata")
    if payload is not None:
        assert isinstance(payload["message"], str)
        assert isinstance(payload["metadata"], dict)
        session = payload.get("session_id")
        assert session is None or (isinstance(session, str) and len(session) <= 128)


@given(JSON)
def test_a_checked_session_request_is_an_object(data: Any) -> None:
    """Rasa's session_request handler indexes the payload: it always gets a dict."""
    request = checked_session_request(data)
    assert isinstance(request, dict)
    session = request.get("session_id")
    assert session is None or isinstance(session, str)


def test_metadata_json_text_is_parsed_and_kept() -> None:
    """Metadata sent as a JSON string (rasa-webchat does) is parsed; a good payload is kept."""
    payload = checked_payload({"message": "hi", "metadata": '{"a": 1}'}, "metadata")
    assert payload == {"message": "hi", "metadata": {"a": 1}}
