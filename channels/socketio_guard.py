"""Rasa's socket.io channel (the chat page, rasa-webchat), with the same checks as REST.

Rasa 3.6's handlers trust what a client emits: a message that is not a string, metadata that
is not JSON or a payload that is not an object raise inside the handler, and nothing limits
length or rate. This subclass keeps Rasa's channel (name `socketio`, path `/socket.io`, session
persistence, replies) and puts a check in front of each client event.

Conversations live in the web namespace (`web:<session id>`), so a socket.io client can never
name a REST, speaker, IVR or SMS conversation; replies still go to the room the client joined
(its bare session id). A session id is a bearer secret: one shorter than 32 characters of
[A-Za-z0-9_-] is never accepted (a session request gets a fresh 128-bit id instead).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from channels import templates
from channels.guard import MAX_MESSAGE_CHARS, RateLimiter, clean_text
from channels.metadata import client_source, request_address, without_reserved
from core.identity.assertion import CLIENT_KEY, key_from_env
from core.identity.conversation import channel_of, local_id, namespaced

logger = logging.getLogger(__name__)

CHANNEL = "web"
MAX_SESSION_ID_CHARS = 128
MIN_SESSION_ID_CHARS = 32
# 32 hex characters (the page's 128 random bits, Rasa's and rasa-webchat's uuid4 hex) up to
# 128 URL-safe characters; nothing shorter, so no session id is small enough to guess.
_SESSION_ID = re.compile(rf"^[A-Za-z0-9_-]{{{MIN_SESSION_ID_CHARS},{MAX_SESSION_ID_CHARS}}}$")
# rasa-webchat sends its metadata as `customData`; both are cleaned whichever Rasa reads.
CLIENT_METADATA_KEYS = ("customData",)


def valid_session_id(value: Any) -> bool:
    """Whether `value` is a session id long and random-looking enough to accept."""
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def new_session_id() -> str:
    """A fresh session id: 128 random bits as 32 hex characters."""
    return secrets.token_hex(16)


def _metadata_object(value: Any) -> Dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = {}
    return without_reserved(value) if isinstance(value, dict) else {}


def checked_payload(data: Any, metadata_key: str) -> Optional[Dict[str, Any]]:
    """The message event's payload made safe for Rasa's handler, or None to drop it.

    Metadata keys only a channel may set (identity assertions, the client source) are dropped.
    """
    if not isinstance(data, dict):
        return None
    message = data.get("message", "")
    session_id = data.get("session_id")
    if not isinstance(message, str):
        return None
    if session_id is not None and (
        not isinstance(session_id, str) or len(session_id) > MAX_SESSION_ID_CHARS
    ):
        return None
    cleaned = {key: _metadata_object(data[key]) for key in CLIENT_METADATA_KEYS if key in data}
    return {
        **data,
        **cleaned,
        "message": message,
        metadata_key: _metadata_object(data.get(metadata_key, {})),
    }


def checked_session_request(data: Any) -> Dict[str, Any]:
    """A session request Rasa can read: an object with an acceptable session id.

    A missing, malformed or too short id is replaced by a fresh 128-bit one (Rasa's own
    fallback, uuid4, has 122 random bits).
    """
    if not isinstance(data, dict):
        return {"session_id": new_session_id()}
    if not valid_session_id(data.get("session_id")):
        return {**data, "session_id": new_session_id()}
    return data


def room_of(recipient_id: str) -> str:
    """The socket.io room of a conversation: the session id the client joined, no namespace."""
    return local_id(recipient_id) if channel_of(recipient_id) == CHANNEL else recipient_id


class WebOutput(SocketIOOutput):
    """Rasa's socket.io output, emitting to the client's own room rather than the namespaced id."""

    async def _send_message(self, socket_id: str, response: Any) -> None:
        """Sends to the room of the conversation's session."""
        await super()._send_message(room_of(socket_id), response)

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Custom payloads go to the same room."""
        await super().send_custom_json(room_of(recipient_id), json_message, **kwargs)


class GuardedSocketIOInput(SocketIOInput):
    """socket.io with input checks, a length cap and a per-conversation rate limit."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's name: the page and rasa-webchat connect to `/socket.io` as before."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Rasa's socket.io settings plus `rate_limit` / `rate_window`."""
        channel = super().from_credentials(credentials)
        credentials = credentials or {}
        channel.limiter = RateLimiter(
            limit=int(credentials.get("rate_limit", 20)),
            window=float(credentials.get("rate_window", 10)),
        )
        channel.key = key_from_env()
        return channel

    limiter: RateLimiter = RateLimiter()
    # CHANNEL_ASSERTION_KEY, for the client source hash; None: read when a message comes.
    key: Optional[str] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """The output for messages Rasa sends on its own (e.g. /execute): to the client's room."""
        if self.sio is None:
            return super().get_output_channel()
        return WebOutput(self.sio, self.bot_message_evt)

    def client_source(self, sid: str) -> str:
        """The keyed hash of the address the socket `sid` connected from."""
        environ = self.sio.get_environ(sid, self.namespace or "/") if self.sio else None
        environ = environ or {}
        request = environ.get("sanic.request")
        # engine.io's Sanic driver writes a fixed REMOTE_ADDR; the request knows the real one.
        address = request_address(request) if request is not None else ""
        return client_source(self.key or key_from_env(), address or environ.get("REMOTE_ADDR", ""))

    def web_message(self, message: UserMessage) -> UserMessage:
        """Rasa's message moved into the web namespace, replies going to the client's room."""
        return UserMessage(
            message.text,
            WebOutput(self.sio, self.bot_message_evt),
            namespaced(CHANNEL, message.sender_id),
            parse_data=message.parse_data,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata=message.metadata,
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint, with each client event checked before Rasa's handler sees it."""

        async def guarded(message: UserMessage) -> None:
            message = self.web_message(message)
            reply = await self.refusal(message)
            if reply is not None:
                await message.output_channel.send_text_message(message.sender_id, reply)
                return
            await on_new_message(message)

        blueprint = super().blueprint(guarded)
        namespace = self.namespace or "/"
        handlers = self.sio.handlers[namespace]
        handle_message = handlers[self.user_message_evt]
        session_request = handlers["session_request"]

        async def checked_message(sid: str, data: Any = None) -> None:
            payload = checked_payload(data, self.metadata_key)
            if payload is None:
                logger.info("socketio: dropped a malformed message event from %s", sid)
                await self.sio.emit(
                    self.bot_message_evt, {"text": templates.MALFORMED_MESSAGE}, room=sid
                )
                return
            session_id = payload.get("session_id")
            if session_id is not None and not valid_session_id(session_id):
                logger.info("socketio: dropped a message with a guessable session id from %s", sid)
                await self.sio.emit(
                    self.bot_message_evt, {"text": templates.SESSION_INVALID}, room=sid
                )
                return
            payload[self.metadata_key][CLIENT_KEY] = self.client_source(sid)
            await handle_message(sid, payload)

        async def checked_session(sid: str, data: Any = None) -> None:
            await session_request(sid, checked_session_request(data))

        self.sio.on(self.user_message_evt, checked_message, namespace=self.namespace)
        self.sio.on("session_request", checked_session, namespace=self.namespace)
        return blueprint

    async def refusal(self, message: UserMessage) -> Optional[str]:
        """The channel's own answer when the message must not reach the assistant, or None."""
        text = clean_text(message.text or "")
        wait = self.limiter.retry_after(message.sender_id or "")
        if wait > 0:
            return templates.TOO_FAST.format(seconds=max(1, int(wait + 0.999)))
        if len(text) > MAX_MESSAGE_CHARS:
            return templates.MESSAGE_TOO_LONG.format(limit=MAX_MESSAGE_CHARS)
        if not text:
            return templates.EMPTY_MESSAGE
        message.text = text
        return None
