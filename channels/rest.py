"""Rasa's REST channel, same URL and replies, with input checks and a per-sender rate limit.

The client's `sender` only names a conversation inside the REST namespace (`rest:<sender>`),
so it can never reach a web, speaker, IVR or SMS conversation; the replies still carry the
client's own `sender` as `recipient_id`. A `sender` is a bearer secret: whoever knows it can
continue that conversation, so clients must make it unguessable (e.g. 128 random bits).
"""

from __future__ import annotations

import logging
import math
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.guard import MAX_MESSAGE_CHARS, RateLimiter, RequestRejected, parse_chat_request
from channels.metadata import client_metadata, request_address
from core.identity.assertion import key_from_env
from core.identity.conversation import namespaced
from rasa_patches import action_client
from tools.production_check import check_rasa_server

logger = logging.getLogger(__name__)

CHANNEL = "rest"


def error(code: str, status: int, **extra: Any) -> HTTPResponse:
    """A JSON error body: a machine-readable code and a readable message."""
    body = {"error": code, "message": templates.ERROR_MESSAGES.get(code, code), **extra}
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return response.json(body, status=status, headers=headers)


def no_reply(sender: str) -> List[Dict[str, Any]]:
    """The reply of a turn in which the bot said nothing: silence would look like a hang."""
    logger.warning("rest: the bot produced no reply for a turn")
    return [{"recipient_id": sender, "text": templates.NO_REPLY}]


def addressed_to(messages: List[Dict[str, Any]], sender: str) -> List[Dict[str, Any]]:
    """The bot's replies with the client's own `sender` as recipient, not the namespaced id."""
    return [{**message, "recipient_id": sender} for message in messages]


class GuardedRestInput(RestInput):
    """POST /webhooks/rest/webhook {"sender", "message", "metadata"?} → the bot's replies."""

    @classmethod
    def name(cls) -> str:
        """Keeps Rasa's channel name, so the URL and the trackers' channel stay `rest`."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads `rate_limit` (messages) and `rate_window` (seconds) from credentials.yml."""
        # `python -m rasa_patches run` checks first; a plain `rasa run` must not serve
        # production with weak secrets either (ends the process, naming them).
        check_rasa_server()
        credentials = credentials or {}
        return cls(
            RateLimiter(
                limit=int(credentials.get("rate_limit", 20)),
                window=float(credentials.get("rate_window", 10)),
            ),
            key=key_from_env(),
        )

    def __init__(self, limiter: Optional[RateLimiter] = None, key: Optional[str] = None) -> None:
        """The rate limiter is per process; `key` hashes client addresses (None: read each time)."""
        self.limiter = limiter or RateLimiter()
        self.key = key

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and the checked webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        # The kept-alive action server connections (rasa_patches.action_client) close with Rasa.
        hook.after_server_stop(action_client.close_sessions)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                chat = parse_chat_request(request.body or b"")
            except RequestRejected as exc:
                return error(exc.code, exc.status)
            wait = self.limiter.retry_after(chat.sender)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                reply = templates.TOO_FAST.format(seconds=seconds)
                return error("rate_limited", 429, retry_after=seconds, reply=reply)
            if chat.too_long:
                text = templates.MESSAGE_TOO_LONG.format(limit=MAX_MESSAGE_CHARS)
                return response.json([{"recipient_id": chat.sender, "text": text}])
            if not chat.message:
                return response.json(
                    [{"recipient_id": chat.sender, "text": templates.EMPTY_MESSAGE}]
                )
            collector = CollectingOutputChannel()
            metadata = client_metadata(
                chat.metadata, key=self.key or key_from_env(), address=request_address(request)
            )
            try:
                await on_new_message(
                    UserMessage(
                        chat.message,
                        collector,
                        namespaced(CHANNEL, chat.sender),
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except CancelledError:
                logger.error("rest: handling the message timed out")
            except Exception:  # the HTTP boundary: log it, answer 503, never a bare 500
                logger.exception("rest: handling the message failed")
                return error("unavailable", 503, reply=templates.UNAVAILABLE)
            replies = addressed_to(collector.messages, chat.sender)
            return response.json(replies or no_reply(chat.sender))

        return hook
