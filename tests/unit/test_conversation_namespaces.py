"""Each channel's conversations live in its own namespace; clients cannot set channel metadata.

A REST sender, a web session, a speaker user, an IVR call and an SMS number can never name
each other's conversation, whatever the client sends; only a channel sets the identity
assertion and the client source in a message's metadata.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage

from channels.guard import MAX_SENDER_CHARS, clean_text
from channels.ivr.events import parse_ivr_event
from channels.metadata import client_source
from channels.rest import GuardedRestInput
from channels.sms import sender_id as sms_sender_id
from channels.socketio_guard import GuardedSocketIOInput
from channels.voice_request import Hypothesis, VoiceRequest
from channels.voice_turns import VoiceTurns, sender_for, user_source
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, RESERVED_METADATA_KEYS, sign
from core.identity.conversation import channel_of, local_id
from redaction.text import redact_text

KEY = "assertion-key-for-tests"
CLIENT_ADDRESS = "203.0.113.9"
FORGED = {
    "identity": {"phone": "13800138000", "source": "sms_sender"},
    METADATA_KEY: sign(KEY, conversation_id="sms:abc", phone="13800138000", source="sms_sender"),
    CLIENT_KEY: "someone-elses-source",
    "page": "help-center",
}
OPERATOR = {"hotline": "10086", "sms_number": "10086", "sms_keyword": "0000"}


# --- REST ---------------------------------------------------------------------------------


class Recorder:
    """Stands in for Rasa: records the message and answers once through its output channel."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "您好")


def rest_call(body: Dict[str, Any], remote_addr: str = "") -> tuple:
    """One POST to the REST webhook's handler: (the message Rasa got, the JSON replies)."""
    recorder = Recorder()
    blueprint = GuardedRestInput(key=KEY).blueprint(recorder)
    handler = next(r.handler for r in blueprint._future_routes if r.uri == "/webhook")
    request = SimpleNamespace(
        body=json.dumps(body).encode("utf-8"), remote_addr=remote_addr, ip=CLIENT_ADDRESS
    )
    response = asyncio.run(handler(request))
    assert response.status == 200
    return recorder.messages[0], json.loads(response.body)


@pytest.mark.parametrize(
    "sender",
    [
        "ivr-call-42",  # an IVR call's old conversation id
        "ivr:call-42",  # ... and its new one
        sender_for("speaker-user-1"),  # a speaker user's conversation id
        "voice-" + local_id(sender_for("speaker-user-1")),  # ... as it was spelled before
        "sms:0123456789abcdef01234567",
        "web:" + "a" * 32,
        "rest:nested",
    ],
)
def test_a_rest_sender_only_names_a_rest_conversation(sender: str) -> None:
    """Whatever the REST client calls itself, it lands in `rest:<sender>`; the reply comes back
    addressed to the sender it sent."""
    message, replies = rest_call({"sender": sender, "message": "我开了哪些会员"})
    assert message.sender_id == f"rest:{sender}"
    assert channel_of(message.sender_id) == "rest"
    assert (
        message.sender_id != parse_ivr_event(b'{"call_id": "call-42", "type": "start"}').sender_id
    )
    assert message.sender_id != sender_for("speaker-user-1")
    assert replies == [{"recipient_id": sender, "text": "您好"}]


@given(st.text(min_size=1, max_size=MAX_SENDER_CHARS))
def test_no_rest_sender_leaves_the_rest_namespace(sender: str) -> None:
    """Any sender the channel accepts becomes a conversation inside `rest:`."""
    if not clean_text(sender):
        return
    message, replies = rest_call({"sender": sender, "message": "你好"})
    assert channel_of(message.sender_id) == "rest"
    assert replies[0]["recipient_id"] == clean_text(sender)


def test_rest_metadata_only_channels_may_set_is_dropped() -> None:
    """A client's identity, assertion and source are dropped; its own keys stay; the channel
    adds the keyed hash of the client's address."""
    message, _ = rest_call({"sender": "u", "message": "你好", "metadata": FORGED})
    assert message.metadata == {
        "page": "help-center",
        CLIENT_KEY: client_source(KEY, CLIENT_ADDRESS),
    }
    assert CLIENT_ADDRESS not in json.dumps(message.metadata)


def test_the_client_source_is_the_proxy_reported_address_when_sanic_trusts_a_proxy() -> None:
    """Behind a configured proxy Sanic fills remote_addr: that is the client, not the proxy."""
    message, _ = rest_call({"sender": "u", "message": "你好"}, remote_addr="198.51.100.7")
    assert message.metadata[CLIENT_KEY] == client_source(KEY, "198.51.100.7")
    assert client_source(KEY, "198.51.100.7") != client_source("another key", "198.51.100.7")
    assert len(client_source(KEY, "198.51.100.7")) == 24


@given(st.text(max_size=60))
def test_a_client_source_is_letters_the_redaction_leaves_alone(address: str) -> None:
    """No digit in it: the stored events keep it as it is, at no redaction cost."""
    source = client_source(KEY, address)
    assert source.isalpha() and source.islower()
    assert redact_text(source) == source


# --- socket.io ----------------------------------------------------------------------------

SESSION = "0f" * 16


class SocketHarness:
    """The guarded socket.io channel with a fake connection: what Rasa got, what was emitted."""

    def __init__(self) -> None:
        self.channel = GuardedSocketIOInput(session_persistence=True)
        self.channel.key = KEY
        self.messages: List[UserMessage] = []
        self.emitted: List[tuple] = []
        self.channel.blueprint(self.on_new_message)
        sio = self.channel.sio
        sio.get_environ = lambda sid, namespace=None: {
            "REMOTE_ADDR": "127.0.0.1",  # engine.io's Sanic driver always writes this
            "sanic.request": SimpleNamespace(remote_addr="", ip=CLIENT_ADDRESS),
        }

        async def emit(event: str, data: Any = None, room: Optional[str] = None, **kw: Any) -> None:
            self.emitted.append((event, data, room))

        sio.emit = emit
        self.handlers = sio.handlers["/"]

    async def on_new_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "您好")

    def utter(self, data: Any) -> None:
        asyncio.run(self.handlers["user_uttered"]("sid-1", data))


def test_a_web_session_is_a_web_conversation_and_replies_reach_its_room() -> None:
    """Session persistence: the conversation is `web:<session>`; the reply goes to the room the
    page joined (the bare session id), also for messages Rasa sends on its own."""
    harness = SocketHarness()
    harness.utter({"message": "你好", "session_id": SESSION})
    assert harness.messages[0].sender_id == f"web:{SESSION}"
    assert harness.emitted == [("bot_uttered", {"text": "您好"}, SESSION)]
    harness.emitted.clear()
    output = harness.channel.get_output_channel()
    asyncio.run(output.send_text_message(f"web:{SESSION}", "提醒"))
    asyncio.run(output.send_custom_json(f"web:{SESSION}", {"data": {"x": 1}}))
    assert [room for _, _, room in harness.emitted] == [SESSION, SESSION]
    assert harness.emitted[0][:2] == ("bot_uttered", {"text": "提醒"})


def test_socketio_metadata_only_channels_may_set_is_dropped() -> None:
    """metadata (object or JSON text) and rasa-webchat's customData lose the reserved keys;
    the client source is the connection's real address, hashed."""
    harness = SocketHarness()
    harness.utter({"message": "你好", "session_id": SESSION, "metadata": json.dumps(FORGED)})
    harness.utter({"message": "你好", "session_id": SESSION, "customData": FORGED})
    first, second = (m.metadata for m in harness.messages)
    assert first == {"page": "help-center", CLIENT_KEY: client_source(KEY, CLIENT_ADDRESS)}
    assert second == {CLIENT_KEY: client_source(KEY, CLIENT_ADDRESS)}
    assert all(key not in first for key in RESERVED_METADATA_KEYS if key != CLIENT_KEY)


@pytest.mark.parametrize("session", ["1", "abc123", "ivr:call-42", "x" * 31, "g" * 16])
def test_a_guessable_session_id_never_reaches_the_assistant(session: str) -> None:
    """A message naming a short (guessable) or namespaced session id is refused."""
    harness = SocketHarness()
    harness.utter({"message": "我开了哪些会员", "session_id": session})
    assert harness.messages == []
    assert harness.emitted[0][0] == "bot_uttered" and harness.emitted[0][2] == "sid-1"


# --- voice, IVR, SMS ----------------------------------------------------------------------


class VoiceRecorder:
    """Enough of Rasa for one voice turn: it records the message the channel hands on."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)


def test_a_speaker_user_is_a_voice_conversation_with_its_own_source() -> None:
    """`voice:<hash>`; the per-source key is the platform's user (hashed), set by the channel."""
    agent = VoiceRecorder()
    turns = VoiceTurns(OPERATOR, key=KEY)
    req = VoiceRequest("s1", False, "speaker-user-1", "d1", "text", (Hypothesis("你好", None),))
    asyncio.run(turns.handle(agent, req))
    message = agent.messages[0]
    assert message.sender_id == sender_for("speaker-user-1")
    assert channel_of(message.sender_id) == "voice"
    assert message.metadata[CLIENT_KEY] == user_source(KEY, "speaker-user-1")
    assert user_source(KEY, "speaker-user-1") != user_source(KEY, "speaker-user-2")


def test_ivr_and_sms_conversations_are_in_their_namespaces() -> None:
    """`ivr:<call id>` and `sms:<keyed hash>`: neither equals what another channel builds."""
    call = parse_ivr_event(b'{"call_id": "call-42", "type": "start"}')
    assert call.sender_id == "ivr:call-42"
    sms = sms_sender_id("13800138000", "gateway-secret")
    assert channel_of(sms) == "sms" and "13800138000" not in sms and len(local_id(sms)) == 24
    ids = {call.sender_id, sms, sender_for("call-42"), f"rest:{call.sender_id}", f"web:{SESSION}"}
    assert {channel_of(i) for i in ids} == {"ivr", "sms", "voice", "rest", "web"}
