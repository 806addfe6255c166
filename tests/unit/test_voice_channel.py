"""The voice channel's HTTP side: configuration, platform authentication, response shape."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from channels.speech import speech_from_text
from channels.voice import VoiceInput, reply_body, voice_error
from channels.voice_turns import Reply


def call(**headers: str) -> SimpleNamespace:
    """A request as far as authentication looks at it (Sanic's headers are case-insensitive)."""
    return SimpleNamespace(headers={k.lower().replace("_", "-"): v for k, v in headers.items()})


def test_channel_name_and_url_prefix() -> None:
    """Turns are recorded as `voice`; the webhook is /webhooks/voice/webhook."""
    channel = VoiceInput()
    assert channel.name() == "voice"
    assert channel.url_prefix() == "voice"


def test_token_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """credentials.yml names the variable; its value is the secret."""
    monkeypatch.setenv("MY_VOICE_SECRET", "s3cret")
    channel = VoiceInput.from_credentials({"token_env": "MY_VOICE_SECRET"})
    assert channel.token == "s3cret"
    monkeypatch.setenv("VOICE_TOKEN", "default-var")
    assert VoiceInput.from_credentials(None).token == "default-var"
    assert VoiceInput.from_credentials({"token": "literal"}).token == "literal"


def test_operator_numbers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The goodbye quotes the operator's configured hotline, like the actions do."""
    monkeypatch.setenv("OPERATOR_HOTLINE", "10010")
    channel = VoiceInput.from_credentials({"rate_limit": 3, "rate_window": 5})
    assert "10010" in channel.turns.goodbye_text
    assert (channel.limiter.limit, channel.limiter.window) == (3, 5.0)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Authorization": "Bearer s3cret"}, True),
        ({"authorization": "bearer s3cret"}, True),
        ({"X-Voice-Token": "s3cret"}, True),
        ({"Authorization": "Bearer wrong"}, False),
        ({"Authorization": "s3cret"}, False),
        ({"X-Voice-Token": ""}, False),
        ({}, False),
    ],
)
def test_the_shared_secret_is_checked(headers: dict, allowed: bool) -> None:
    """Only the configured secret, as a bearer token or X-Voice-Token, lets a call in."""
    assert VoiceInput(token="s3cret").authorised(call(**headers)) is allowed


def test_without_a_secret_everyone_is_let_in_with_one_warning(caplog) -> None:
    """Development: no secret configured → allowed, and the log says so once."""
    channel = VoiceInput(token="")
    with caplog.at_level(logging.WARNING, logger="channels.voice"):
        assert channel.authorised(call())
        assert channel.authorised(call(Authorization="Bearer anything"))
    assert [r.message for r in caplog.records].count(
        "voice: no VOICE_TOKEN configured, the webhook accepts any caller"
    ) == 1


def test_reply_body_shape() -> None:
    """Text and SSML to speak, a reprompt, the end flag and a display text."""
    speech = speech_from_text("还需要取消其他会员吗？")
    body = reply_body(Reply(speech, speech, False, "还需要取消其他会员吗？"))
    assert body == {
        "version": "1.0",
        "response": {
            "output_speech": {"text": speech.text, "ssml": speech.ssml},
            "reprompt": {"text": speech.text, "ssml": speech.ssml},
            "should_end_session": False,
            "display_text": "还需要取消其他会员吗？",
        },
    }
    assert reply_body(Reply(speech, None, True, ""))["response"]["reprompt"] is None


def test_errors_are_json_with_a_chinese_message() -> None:
    """401 and 429 bodies carry a code and a readable message."""
    denied = voice_error("unauthorized", 401)
    assert denied.status == 401
    assert json.loads(denied.body) == {"error": "unauthorized", "message": "请求未通过身份校验"}
    limited = voice_error("rate_limited", 429, retry_after=3)
    assert limited.headers["Retry-After"] == "3"
    assert json.loads(limited.body)["message"] == "请求过于频繁"
