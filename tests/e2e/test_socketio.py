"""The socket.io channel (chat page, rasa-webchat) refuses bad input without crashing."""

from __future__ import annotations

import queue
import time
import uuid
from typing import Any, Iterator, List

import pytest
import socketio

from channels import templates
from tests.e2e.bot import Bot

pytestmark = pytest.mark.e2e


class Chat:
    """A socket.io client holding one persisted session, collecting the bot's texts."""

    def __init__(self, url: str) -> None:
        self.replies: queue.Queue[dict] = queue.Queue()
        self.confirmed: queue.Queue[str] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.confirmed.put)
        self.client.connect(url, transports=["polling"], socketio_path="/socket.io")
        self.session = uuid.uuid4().hex
        self.client.emit("session_request", {"session_id": self.session})
        assert self.confirmed.get(timeout=10) == self.session

    def emit(self, data: Any) -> None:
        """Sends a raw user_uttered payload."""
        self.client.emit("user_uttered", data)

    def say(self, text: str) -> None:
        """Sends a message the way the page does."""
        self.emit({"message": text, "session_id": self.session})

    def texts(self, timeout: float = 30.0) -> List[str]:
        """The bot's texts until it goes quiet (the first within `timeout`)."""
        texts = [self.replies.get(timeout=timeout).get("text", "")]
        while True:
            try:
                texts.append(self.replies.get(timeout=2).get("text", ""))
            except queue.Empty:
                return texts


@pytest.fixture
def chat(bot: Bot) -> Iterator[Chat]:
    client = Chat(bot.url)
    yield client
    client.client.disconnect()


@pytest.mark.parametrize(
    "data",
    [
        "just a string",
        42,
        None,
        ["list"],
        {"message": 123},
        {"message": ["a"]},
        {"message": "你好", "session_id": {"x": 1}},
    ],  # fmt: skip
)
def test_malformed_events_get_a_clear_reply_and_the_chat_goes_on(chat: Chat, data: Any) -> None:
    """A malformed event is answered with a Chinese message; the next real one is answered."""
    chat.emit(data)
    assert chat.texts() == [templates.MALFORMED_MESSAGE]
    chat.say("你好")
    assert any("退订助手" in text for text in chat.texts())


def test_metadata_that_is_not_json_is_ignored(chat: Chat) -> None:
    """Rasa would raise on metadata that is a non-JSON string; it is simply dropped."""
    chat.emit({"message": "你好", "session_id": chat.session, "metadata": "{not json"})
    assert any("退订助手" in text for text in chat.texts())


def test_long_and_empty_messages_get_the_channel_reply(chat: Chat) -> None:
    """Over 500 characters or nothing but control characters: the cap or the empty reply."""
    chat.say("取" * 600)
    assert chat.texts() == [templates.MESSAGE_TOO_LONG.format(limit=500)]
    chat.say("\u200b\x07 ")
    assert chat.texts() == [templates.EMPTY_MESSAGE]


def test_control_characters_are_removed_before_the_assistant_reads(chat: Chat) -> None:
    """Invisible characters inside a request do not stop it from being understood."""
    chat.say("帮我取消\u200b腾讯\x07视频")
    assert any("腾讯视频VIP" in text for text in chat.texts())


def test_a_garbage_session_request_still_gets_a_session(bot: Bot) -> None:
    """A session request that is not an object is given a new session id."""
    client = socketio.Client(reconnection=False)
    confirmed: queue.Queue[str] = queue.Queue()
    client.on("session_confirm", confirmed.put)
    client.connect(bot.url, transports=["polling"], socketio_path="/socket.io")
    try:
        client.emit("session_request", "garbage")
        session = confirmed.get(timeout=10)
        assert isinstance(session, str) and len(session) == 32
    finally:
        client.disconnect()


def test_too_many_messages_are_slowed_down(chat: Chat) -> None:
    """More than 20 messages in 10 s from one conversation get the rate-limit reply."""
    for _ in range(21):
        chat.say("")  # refused as empty, but counted: no model work needed
        time.sleep(0.05)  # the polling client drops a burst sent in one go
    texts = []
    while True:
        try:
            texts.append(chat.replies.get(timeout=5).get("text", ""))
        except queue.Empty:
            break
    assert texts.count(templates.EMPTY_MESSAGE) == 20
    assert any(text.startswith("您发送得太快了") for text in texts)


@pytest.mark.parametrize("asked", ["1", "abc123", "ivr:call-42", "x" * 31])
def test_a_guessable_session_id_is_never_confirmed(bot: Bot, asked: str) -> None:
    """Asking for a short (guessable) or namespaced session id gets a fresh random one."""
    client = socketio.Client(reconnection=False)
    confirmed: queue.Queue[str] = queue.Queue()
    client.on("session_confirm", confirmed.put)
    client.connect(bot.url, transports=["polling"], socketio_path="/socket.io")
    try:
        client.emit("session_request", {"session_id": asked})
        session = confirmed.get(timeout=10)
        assert session != asked and len(session) == 32 and int(session, 16) >= 0
    finally:
        client.disconnect()


def test_a_message_naming_a_guessable_session_gets_no_assistant(chat: Chat) -> None:
    """A message whose session id is short is refused (the assistant never sees it); the
    chat's own session goes on, its replies reaching its room."""
    chat.emit({"message": "我开了哪些会员", "session_id": "abc123"})
    assert chat.texts() == [templates.SESSION_INVALID]
    chat.say("你好")
    assert any("退订助手" in text for text in chat.texts())
