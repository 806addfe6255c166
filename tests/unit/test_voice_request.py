"""The voice channel's request checks: every malformed body is a 4xx with a code, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.guard import MAX_BODY_BYTES, RequestRejected
from channels.voice_request import Hypothesis, parse_voice_request


def body(request=None, session=None, user=None, **extra) -> bytes:
    data = {
        "version": "1.0",
        "session": {"id": "s1", "new": False} if session is None else session,
        "user": {"id": "u1"} if user is None else user,
        "device": {"id": "d1"},
        "request": {"text": "取消绿钻"} if request is None else request,
        **extra,
    }
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def test_a_good_request_passes() -> None:
    """Ids, the new-session flag and the hypotheses come through, the platform's text first."""
    turn = parse_voice_request(
        body(
            request={
                "text": "取消绿钻",
                "nbest": [
                    {"text": "取消路转", "confidence": 0.4},
                    {"text": "取消绿钻", "confidence": 0.3},
                ],
            },
            session={"id": "s9", "new": True},
        )
    )
    assert (turn.session_id, turn.new_session, turn.user_id, turn.device_id, turn.kind) == (
        "s9",
        True,
        "u1",
        "d1",
        "text",
    )
    assert turn.hypotheses == (Hypothesis("取消路转", 0.4), Hypothesis("取消绿钻", 0.3))


def test_text_not_in_the_nbest_leads() -> None:
    """The platform's own pick is tried first when the n-best list does not contain it."""
    turn = parse_voice_request(body(request={"text": "甲", "nbest": [{"text": "乙"}]}))
    assert [h.text for h in turn.hypotheses] == ["甲", "乙"]


@pytest.mark.parametrize(
    ("request_part", "new", "kind"),
    [
        ({"text": ""}, False, "no_input"),
        ({}, False, "no_input"),
        ({"text": "  \u200b "}, False, "no_input"),
        ({"text": ""}, True, "launch"),
        ({"type": "launch", "text": "取消"}, False, "launch"),
        ({"type": "end"}, False, "end"),
        ({"type": "no_input", "text": "取消"}, False, "no_input"),
    ],
)
def test_the_kind_of_turn(request_part: dict, new: bool, kind: str) -> None:
    """Nothing heard is no_input, or a launch at the start of a skill session."""
    turn = parse_voice_request(body(request=request_part, session={"id": "s", "new": new}))
    assert turn.kind == kind
    if kind != "text":
        assert turn.hypotheses == ()


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_utf8"),
        (b"[1]", 400, "not_an_object"),
        (b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}", 413, "body_too_large"),
        (b"[" * 5000 + b"]" * 5000, 400, "invalid_json"),
        (body(version=2), 400, "invalid_version"),
        (json.dumps({"user": {"id": "u"}, "request": {}}).encode(), 400, "missing_session"),
        (body(session="s1"), 400, "invalid_session"),
        (body(session={"id": ""}), 400, "invalid_session"),
        (body(session={"id": "s", "new": "yes"}), 400, "invalid_session"),
        (body(session={"id": "x" * 300}), 400, "invalid_session"),
        (json.dumps({"session": {"id": "s"}, "request": {}}).encode(), 400, "missing_user"),
        (body(user={"id": True}), 400, "invalid_user"),
        (body(user={"name": "u"}), 400, "invalid_user"),
        (body(device="d"), 400, "invalid_device"),
        (
            json.dumps({"session": {"id": "s"}, "user": {"id": "u"}}).encode(),
            400,
            "missing_request",
        ),
        (body(request=["取消"]), 400, "invalid_request"),
        (body(request={"type": "play"}), 400, "invalid_type"),
        (body(request={"text": 5}), 400, "invalid_text"),
        (body(request={"nbest": "取消"}), 400, "invalid_nbest"),
        (body(request={"nbest": [{"text": 1}]}), 400, "invalid_nbest"),
        (body(request={"nbest": [{"text": "a", "confidence": 2}]}), 400, "invalid_nbest"),
        (body(request={"nbest": [{"text": "a", "confidence": "0.5"}]}), 400, "invalid_nbest"),
        (body(request={"nbest": [{"text": "a"}] * 11}), 400, "invalid_nbest"),
    ],
    ids=lambda v: v[:30].decode("utf-8", "replace") if isinstance(v, bytes) else str(v),
)
def test_bad_requests_are_rejected_with_a_reason(raw: bytes, status: int, code: str) -> None:
    """Each malformed request names what is wrong, and the code has a Chinese message."""
    with pytest.raises(RequestRejected) as caught:
        parse_voice_request(raw)
    assert (caught.value.status, caught.value.code) == (status, code)
    known = {**templates.ERROR_MESSAGES, **templates.VOICE_ERROR_MESSAGES}
    assert known.get(code)


def test_lone_surrogates_are_dropped() -> None:
    """JSON can smuggle \\ud800 in; it cannot be sent back as UTF-8, so it goes."""
    raw = (
        b'{"session": {"id": "s\\ud800"}, "user": {"id": "u"},'
        b' "request": {"text": "\\udc00\u53d6\u6d88"}}'
    )
    turn = parse_voice_request(raw)
    assert (turn.session_id, turn.hypotheses[0].text) == ("s", "取消")


def test_control_characters_are_removed_and_long_text_cut() -> None:
    """ASR text is cleaned like chat text; an absurdly long one is cut, not refused."""
    turn = parse_voice_request(body(request={"text": "取消\x00绿钻\u202e" + "啊" * 600}))
    assert turn.hypotheses[0].text.startswith("取消绿钻")
    assert len(turn.hypotheses[0].text) == 500


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_shaped = st.fixed_dictionaries(
    {},
    optional={
        "version": _json,
        "session": st.one_of(_json, st.fixed_dictionaries({"id": _json}, optional={"new": _json})),
        "user": st.one_of(_json, st.fixed_dictionaries({"id": _json})),
        "device": st.one_of(_json, st.fixed_dictionaries({"id": _json})),
        "request": st.one_of(
            _json,
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["text", "launch", "no_input", "end", "x"]) | _json,
                    "text": _json,
                    "nbest": st.lists(
                        st.fixed_dictionaries({"text": _json}, optional={"confidence": _json}),
                        max_size=12,
                    )
                    | _json,
                },
            ),
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_shaped.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)))
def test_any_body_is_accepted_or_rejected_with_4xx(raw: bytes) -> None:
    """Whatever arrives: a checked request, or RequestRejected with a 4xx and a known code."""
    try:
        turn = parse_voice_request(raw)
    except RequestRejected as exc:
        assert 400 <= exc.status < 500
        assert {**templates.ERROR_MESSAGES, **templates.VOICE_ERROR_MESSAGES}.get(exc.code)
        return
    assert turn.kind in ("launch", "text", "no_input", "end")
    assert all(h.text for h in turn.hypotheses)
    assert (turn.kind == "text") == bool(turn.hypotheses)
