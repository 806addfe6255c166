"""Inbound SMS channel: POST /webhooks/sms/webhook {"from", "to", "text", "message_id"?} → one SMS.

The sender's number is the account (the carrier authenticates it, as in the operator's own
0000 flow): every turn carries a signed `sms_sender` assertion (core.identity.assertion, key
CHANNEL_ASSERTION_KEY) for the conversation `sms:<keyed hash of the phone>`, so later SMS from
the same phone continue it and only this channel can vouch for the number.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, RateLimiter, RequestRejected
from channels.metadata import client_source
from channels.sms.auth import GatewayAuth
from channels.sms.conversation import DEFAULT_OFFER_TTL, last_offer
from channels.sms.keywords import interpret
from channels.sms.memory import PhoneLocks, Result, RetryCache
from channels.sms.parse import InboundSms, parse_sms_request
from channels.sms.render import DEFAULT_MAX_SEGMENTS, Offer, Rendered, render
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, key_from_env, sign
from core.identity.conversation import namespaced
from redaction.text import mask_phone

logger = logging.getLogger(__name__)

CHANNEL = "sms"
IDENTITY_SOURCE = "sms_sender"
DEFAULT_REPLY_TIMEOUT = 25.0
# Reads a conversation's events (as dicts) by sender id; the tracker store in production.
History = Callable[[str], Awaitable[List[Dict[str, Any]]]]


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


def tracker_history(agent: Any) -> History:
    """The conversation's events from the agent's tracker store."""

    async def events(sender: str) -> List[Dict[str, Any]]:
        tracker = await agent.tracker_store.retrieve(sender)
        # All events, not applied_events(): that drops the user turns a form consumed.
        return [event.as_dict() for event in tracker.events] if tracker else []

    return events


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


class SmsOutput(CollectingOutputChannel):
    """Collects the bot's messages with the response name, which decides how SMS renders them."""

    @classmethod
    def name(cls) -> str:
        """`sms`, so the domain may give responses an SMS-specific variant (channel: sms)."""
        return CHANNEL

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keeps the whole text as one message (no split on blank lines)."""
        await self._persist_message({"text": text, "utter_action": kwargs.get("utter_action")})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Keeps the buttons for rendering as a numbered menu."""
        await self._persist_message(
            {"text": text, "buttons": buttons, "utter_action": kwargs.get("utter_action")}
        )


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
        """Reads auth (hmac|token), secret/secret_env, max_age, rate_*, max_segments, sizes."""
        credentials = credentials or {}
        return cls(
            auth=GatewayAuth.from_credentials(credentials),
            limiter=RateLimiter(
                limit=int(credentials.get("rate_limit", 10)),
                window=float(credentials.get("rate_window", 60)),
            ),
            max_segments=int(credentials.get("max_segments", DEFAULT_MAX_SEGMENTS)),
            memory_size=int(credentials.get("memory_size", 10_000)),
            reply_timeout=float(credentials.get("reply_timeout", DEFAULT_REPLY_TIMEOUT)),
            offer_ttl=float(credentials.get("offer_ttl", DEFAULT_OFFER_TTL)),
            assertion_key=key_from_env(),
        )

    def __init__(
        self,
        auth: Optional[GatewayAuth] = None,
        limiter: Optional[RateLimiter] = None,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        memory_size: int = 10_000,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT,
        offer_ttl: float = DEFAULT_OFFER_TTL,
        assertion_key: Optional[str] = None,
    ) -> None:
        """Locks, rate limit and retries are per process; see channels/sms/memory.py.

        `assertion_key` (CHANNEL_ASSERTION_KEY) signs the sender; None: read per message.
        """
        self.assertion_key = assertion_key
        self.auth = auth or GatewayAuth.from_credentials({})
        self.limiter = limiter or RateLimiter(limit=10, window=60)
        self.max_segments = max_segments
        self.reply_timeout = reply_timeout
        self.offer_ttl = offer_ttl
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
            history = tracker_history(request.app.ctx.agent)
            status, body, headers = await self.handle(
                request.headers, request.body or b"", on_new_message, history
            )
            return response.json(body, status=status, headers=headers)

        return hook

    async def handle(
        self,
        headers: Mapping[str, str],
        body: bytes,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        history: Optional[History] = None,
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
            key, lambda: self._turn(sms, on_new_message, history), keep=_keep
        )
        extra = {"Retry-After": str(answer["retry_after"])} if "retry_after" in answer else None
        return status, answer, extra

    async def _turn(
        self,
        sms: InboundSms,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        history: Optional[History],
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
            return 200, reply_body(sms, render([{"text": text}], self.max_segments))
        if not sms.text:
            return 200, reply_body(sms, render([{"text": templates.SMS_EMPTY}], self.max_segments))
        async with self.locks.lock(sms.phone):
            offer = await self._offer(sms.phone, history)
            inbound = interpret(sms.text, sms.phone, offer)
            if inbound.reply is not None:
                return 200, reply_body(sms, render([{"text": inbound.reply}], self.max_segments))
            messages = await self._assistant(sms, inbound.text or sms.text, on_new_message)
            rendered = render(messages, self.max_segments)
            if not rendered.messages:
                busy = render([{"text": templates.UNAVAILABLE}], self.max_segments)
                return 200, reply_body(sms, busy, busy=True)
            return 200, reply_body(sms, rendered)

    async def _offer(self, phone: str, history: Optional[History]) -> Offer:
        """The menu the last reply to `phone` offered; none when it cannot be read."""
        if history is None:
            return Offer()
        try:
            events = await history(sender_id(phone, self.auth.secret))
        except Exception:  # the tracker store is down: numbers then go to the bot as typed
            logger.warning("sms: could not read the conversation of %s", mask_phone(phone))
            return Offer()
        return last_offer(events, ttl=self.offer_ttl)

    async def _assistant(
        self,
        sms: InboundSms,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> List[Dict[str, Any]]:
        """Runs one turn of the assistant; [] when it failed or took too long."""
        collector = SmsOutput()
        conversation = sender_id(sms.phone, self.auth.secret)
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
            return []
        except Exception:  # the HTTP boundary: log it, answer "busy", never a bare 500
            logger.exception("sms: handling the message from %s failed", masked)
            return []
        return collector.messages
