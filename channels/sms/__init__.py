"""Inbound SMS channel: POST /webhooks/sms/webhook {"from", "to", "text", "message_id"?} → one SMS.

The sender's number is the account (the carrier authenticates it, as in the operator's own
0000 flow): every turn carries a signed `sms_sender` assertion (core.identity.assertion, key
CHANNEL_ASSERTION_KEY) for the conversation `sms:<keyed hash of the phone>`, so later SMS from
the same phone continue it and only this channel can vouch for the number.

The channel only translates: an SMS into a message (operator commands and menu numbers,
channels/sms/keywords.py) and the turn's answer into SMS (channels/sms/render.py). The last
answer per conversation is kept in the channel's own memory (channels/conversation_memory.py,
`memory_url` for Redis when several processes serve the webhook), never read back from the
dialogue's tracker store.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.answers import AnswerCollector
from channels.conversation_memory import (
    ConversationMemory,
    LocalMemory,
    MemoryUnavailable,
    Remembered,
    memory_from_credentials,
)
from channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, RateLimiter, RequestRejected
from channels.metadata import client_source
from channels.options import KeyedOption
from channels.sms.auth import GatewayAuth
from channels.sms.keywords import interpret
from channels.sms.memory import PhoneLocks, Result, RetryCache
from channels.sms.parse import InboundSms, parse_sms_request
from channels.sms.render import DEFAULT_MAX_SEGMENTS, Rendered, menu_of, render, render_text
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, key_from_env, sign
from core.identity.conversation import namespaced
from redaction.text import mask_phone
from turns.answer import Answer

logger = logging.getLogger(__name__)

CHANNEL = "sms"
IDENTITY_SOURCE = "sms_sender"
DEFAULT_REPLY_TIMEOUT = 25.0
# Rasa starts a new session after 60 idle minutes (domain.yml); an older menu is stale.
DEFAULT_MENU_TTL = 3600
MEMORY_PREFIX = "sms_memory"


def sender_id(phone: str, key: str) -> str:
    """The Rasa conversation id of a phone's SMS conversation: a keyed hash, not the number.

    Conversation ids are kept in the clear by every tracker store and in Rasa's logs, so the
    phone only goes in pseudonymised (HMAC with the gateway secret); the same phone always
    gets the same conversation. In the SMS namespace, so no other channel's client can name it.
    """
    digest = hmac.new(key.encode("utf-8"), phone.encode("utf-8"), hashlib.sha256).hexdigest()
    return namespaced(CHANNEL, digest[:24])


def identity_metadata(sms: InboundSms, conversation_id: str, key: str) -> Dict[str, Any]:
    """The metadata every SMS turn carries: who sent it (signed; the carrier authenticated the
    number) and to where. The per-source key is the sender's number (hashed): every request
    comes from the gateway, whose address says nothing about the user."""
    return {
        METADATA_KEY: sign(
            key, conversation_id=conversation_id, phone=sms.phone, source=IDENTITY_SOURCE
        ),
        CLIENT_KEY: client_source(key, f"sms-sender:{sms.phone}"),
        "sms": {"to": sms.to, "message_id": sms.message_id},
    }


def error_body(code: str) -> Dict[str, Any]:
    """A JSON error: a machine-readable code and a readable Chinese message."""
    message = templates.SMS_ERROR_MESSAGES.get(code) or templates.ERROR_MESSAGES.get(code, code)
    return {"error": code, "message": message}


def reply_body(sms: InboundSms, rendered: Rendered, busy: bool = False) -> Dict[str, Any]:
    """The webhook's answer: the SMS to send back to the sender."""
    body: Dict[str, Any] = {
        "to": sms.phone,
        "text": rendered.text,
        "segments": rendered.segments,
        "messages": [{"text": m.text, "segments": m.segments} for m in rendered.messages],
    }
    if sms.message_id is not None:
        body["message_id"] = sms.message_id
    if busy:
        body["busy"] = True
    return body


def _keep(result: Result) -> bool:
    """Only real answers are replayed to a retry; a busy one may be retried for real."""
    return result[0] == 200 and not result[1].get("busy")


class SmsInput(InputChannel):
    """The SMS gateway's webhook; answers each inbound SMS with the reply SMS in the response."""

    @classmethod
    def name(cls) -> str:
        """Channel name: URL /webhooks/sms/webhook, and the store's cancellation channel."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads auth (hmac|token), secret/secret_env, max_age, rate_*, max_segments, sizes,
        and the memory: memory_url/memory_url_env (Redis), memory_ttl (offer_ttl), memory_size."""
        credentials = credentials or {}
        memory_settings = dict(credentials)
        memory_settings.setdefault("memory_ttl", credentials.get("offer_ttl") or DEFAULT_MENU_TTL)
        return cls(
            auth=GatewayAuth.from_credentials(credentials),
            limiter=RateLimiter(
                limit=int(credentials.get("rate_limit", 10)),
                window=float(credentials.get("rate_window", 60)),
            ),
            max_segments=int(credentials.get("max_segments", DEFAULT_MAX_SEGMENTS)),
            memory_size=int(credentials.get("memory_size", 10_000)),
            reply_timeout=float(credentials.get("reply_timeout", DEFAULT_REPLY_TIMEOUT)),
            assertion_key=key_from_env(),
            memory=memory_from_credentials(memory_settings, prefix=MEMORY_PREFIX),
        )

    def __init__(
        self,
        auth: Optional[GatewayAuth] = None,
        limiter: Optional[RateLimiter] = None,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        memory_size: int = 10_000,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT,
        assertion_key: Optional[str] = None,
        memory: Optional[ConversationMemory] = None,
    ) -> None:
        """Locks, rate limit and retries are per process; see channels/sms/memory.py.

        `assertion_key` (CHANNEL_ASSERTION_KEY) signs the sender; None: read per message.
        `memory` keeps each conversation's last answer (in this process by default).
        """
        self.assertion_key = assertion_key
        self.auth = auth or GatewayAuth.from_credentials({})
        self.limiter = limiter or RateLimiter(limit=10, window=60)
        self.max_segments = max_segments
        self.reply_timeout = reply_timeout
        # Not `memory or …`: an empty LocalMemory is falsy (it has a length).
        self.memory = memory if memory is not None else LocalMemory(DEFAULT_MENU_TTL, memory_size)
        self.locks = PhoneLocks()
        self.retries = RetryCache(memory_size)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and the authenticated webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            status, body, headers = await self.handle(
                request.headers, request.body or b"", on_new_message
            )
            return response.json(body, status=status, headers=headers)

        return hook

    async def handle(
        self,
        headers: Mapping[str, str],
        body: bytes,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> Tuple[int, Dict[str, Any], Optional[Dict[str, str]]]:
        """One webhook call: (status, JSON body, extra headers). Never raises for bad input."""
        if len(body) > MAX_BODY_BYTES:
            return 413, error_body("body_too_large"), None
        if not self.auth.allows(headers, body):
            return 401, error_body("unauthorized"), None
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        try:
            sms = parse_sms_request(body, content_type)
        except RequestRejected as exc:
            return exc.status, error_body(exc.code), None
        key = (sms.phone, sms.message_id) if sms.message_id else None
        status, answer = await self.retries.once(
            key, lambda: self._turn(sms, on_new_message), keep=_keep
        )
        extra = {"Retry-After": str(answer["retry_after"])} if "retry_after" in answer else None
        return status, answer, extra

    async def _turn(
        self, sms: InboundSms, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Result:
        """Rate limit, channel-level answers, then the assistant's turn rendered as SMS."""
        wait = self.limiter.retry_after(sms.phone)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            body = error_body("rate_limited")
            body.update(retry_after=seconds, reply=templates.TOO_FAST.format(seconds=seconds))
            return 429, body
        if sms.too_long:
            text = templates.SMS_TOO_LONG.format(limit=MAX_MESSAGE_CHARS)
            return 200, reply_body(sms, render_text(text, self.max_segments))
        if not sms.text:
            return 200, reply_body(sms, render_text(templates.SMS_EMPTY, self.max_segments))
        conversation = sender_id(sms.phone, self.auth.secret)
        async with self.locks.lock(sms.phone):
            inbound = interpret(sms.text, sms.phone, self._menu(conversation, sms.phone))
            if inbound.reply is not None:
                return 200, reply_body(sms, render_text(inbound.reply, self.max_segments))
            answer = await self._assistant(
                sms, conversation, inbound.text or sms.text, on_new_message
            )
            rendered = render(answer, self.max_segments)
            # What the user saw last: this answer, or the busy SMS, which offers no menu.
            self._remember(conversation, answer if rendered.messages else None, sms.phone)
            if not rendered.messages:
                busy = render_text(templates.UNAVAILABLE, self.max_segments)
                return 200, reply_body(sms, busy, busy=True)
            return 200, reply_body(sms, rendered)

    def _menu(self, conversation: str, phone: str) -> Tuple[KeyedOption, ...]:
        """The numbered menu the last reply showed; none when it cannot be read."""
        try:
            answer = self.memory.recall(conversation).answer
        except MemoryUnavailable:  # numbers then go to the assistant as typed
            logger.warning("sms: could not read the menu sent to %s", mask_phone(phone))
            return ()
        return menu_of(answer) if answer is not None else ()

    def _remember(self, conversation: str, answer: Optional[Answer], phone: str) -> None:
        """Keeps the answer just sent (forgets the last one when none was)."""
        try:
            if answer is None:
                self.memory.forget(conversation)
            else:
                self.memory.remember(conversation, Remembered(answer=answer))
        except MemoryUnavailable:  # the reply still goes out; a number then goes as typed
            logger.warning("sms: could not remember the reply to %s", mask_phone(phone))

    async def _assistant(
        self,
        sms: InboundSms,
        conversation: str,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> Answer:
        """Runs one turn of the assistant; an empty answer when it failed or took too long."""
        collector = AnswerCollector(CHANNEL)  # named `sms`: responses' SMS variants apply
        message = UserMessage(
            text,
            collector,
            conversation,
            input_channel=CHANNEL,
            message_id=sms.message_id,
            metadata=identity_metadata(sms, conversation, self.assertion_key or key_from_env()),
        )
        masked = mask_phone(sms.phone)
        try:
            # Shielded: a slow turn finishes in the background; the user hears "busy" now.
            await asyncio.wait_for(asyncio.shield(on_new_message(message)), self.reply_timeout)
        except asyncio.TimeoutError:
            logger.error("sms: the turn for %s took over %ss", masked, self.reply_timeout)
            return Answer()
        except Exception:  # the HTTP boundary: log it, answer "busy", never a bare 500
            logger.exception("sms: handling the message from %s failed", masked)
            return Answer()
        return collector.answer()
