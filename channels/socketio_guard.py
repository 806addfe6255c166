"""Rasa's socket.io channel (the chat page, rasa-webchat), with the same checks as REST.

Rasa 3.6's handlers trust what a client emits: a message that is not a string, metadata that
is not JSON or a payload that is not an object raise inside the handler, and nothing limits
length or rate. This subclass keeps Rasa's channel (name `socketio`, path `/socket.io`, session
persistence, replies) and puts a check in front of each client event.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from channels import templates
from channels.guard import MAX_MESSAGE_CHARS, RateLimiter, clean_text

logger = logging.getLogger(__name__)

MAX_SESSION_ID_CHARS = 128


def checked_payload(data: Any, metadata_key: str) -> Optional[Dict[str, Any]]:
    """The message event's payload made safe for Rasa's handler, or None to drop it."""
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
    metadata = data.get(metadata_key, {})
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    return {**data, "message": message, metadata_key: metadata}


def checked_session_request(data: Any) -> Dict[str, Any]:
    """A session request Rasa can read: an object whose session_id is a short string or None."""
    if not isinstance(data, dict):
        return {}
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not session_id or len(session_id) > 128:
        return {**data, "session_id": None}
    return data


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
        return channel

    limiter: RateLimiter = RateLimiter()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint, with each client event checked before Rasa's handler sees it."""

        async def guarded(message: UserMessage) -> None:
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
