"""Smart-speaker channel: POST /webhooks/voice/webhook, one JSON request per turn, speech back.

The platform sends the ASR text (and optionally its n-best list, passed on to the Rasa server,
which chooses: rasa_patches/nbest.py) with session, user and device ids; the answer carries
the text to speak (plain and SSML), a reprompt, whether the session ends and a short display
text. Request and response shapes: docs/channels/voice.md.

Conversation id: `voice:` + the platform's *user* id (hashed), not its session id. Sessions end
after a few seconds of silence, typically while the user fetches the phone to read the SMS
code; with the user id the conversation carries on in the next skill session (Rasa's own
session expiry and the identity's idle expiry still apply).
"""

from __future__ import annotations

import hmac
import logging
import math
import os
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.conversation_memory import ConversationMemory, memory_from_credentials
from channels.guard import RateLimiter, RequestRejected
from channels.voice_request import parse_voice_request
from channels.voice_turns import Reply, VoiceTurns, busy_reply
from core.identity.assertion import key_from_env

logger = logging.getLogger(__name__)

VERSION = "1.0"
DEFAULT_TOKEN_ENV = "VOICE_TOKEN"
MEMORY_PREFIX = "voice_memory"
# The operator's channels quoted in the goodbye: the variables and defaults of core/settings.py.
OPERATOR_ENV = {
    "hotline": ("OPERATOR_HOTLINE", "10086"),
    "sms_number": ("CANCEL_SMS_NUMBER", "10086"),
    "sms_keyword": ("CANCEL_SMS_KEYWORD", "0000"),
}


def voice_error(code: str, status: int, **extra: Any) -> HTTPResponse:
    """A JSON error body: a machine-readable code and a readable Chinese message."""
    message = templates.VOICE_ERROR_MESSAGES.get(code) or templates.ERROR_MESSAGES.get(code, code)
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return response.json(
        {"error": code, "message": message, **extra}, status=status, headers=headers
    )


def reply_body(reply: Reply) -> Dict[str, Any]:
    """The response JSON for one turn."""
    reprompt = (
        {"text": reply.reprompt.text, "ssml": reply.reprompt.ssml} if reply.reprompt else None
    )
    return {
        "version": VERSION,
        "response": {
            "output_speech": {"text": reply.speech.text, "ssml": reply.speech.ssml},
            "reprompt": reprompt,
            "should_end_session": reply.end_session,
            "display_text": reply.display_text,
        },
    }


def presented_token(request: Request) -> Optional[str]:
    """The secret the platform sent: `Authorization: Bearer …` or `X-Voice-Token`."""
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-voice-token")


class VoiceInput(InputChannel):
    """The smart-speaker webhook; Rasa names its turns' channel `voice`."""

    @classmethod
    def name(cls) -> str:
        """URL prefix /webhooks/voice/ and the channel recorded with each cancellation."""
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """`token` (literal) or `token_env` (the variable holding it), `rate_limit`, `rate_window`,
        and the channel's memory: `memory_url` / `memory_url_env` (Redis), `memory_ttl`.

        Rasa expands `${VAR}` in credentials.yml but refuses to start when VAR is unset, which
        would stop every development server, hence the variable's name instead of its value.
        """
        credentials = credentials or {}
        token = credentials.get("token") or os.environ.get(
            credentials.get("token_env") or DEFAULT_TOKEN_ENV, ""
        )
        operator = {
            key: os.environ.get(var, default) for key, (var, default) in OPERATOR_ENV.items()
        }
        limiter = RateLimiter(
            limit=int(credentials.get("rate_limit", 20)),
            window=float(credentials.get("rate_window", 10)),
        )
        memory = memory_from_credentials(credentials, prefix=MEMORY_PREFIX)
        return cls(
            token=str(token or ""),
            limiter=limiter,
            operator=operator,
            key=key_from_env(),
            memory=memory,
        )

    def __init__(
        self,
        token: str = "",
        limiter: Optional[RateLimiter] = None,
        operator: Optional[Dict[str, str]] = None,
        key: Optional[str] = None,
        memory: Optional[ConversationMemory] = None,
    ) -> None:
        """An empty token means development: every caller is let in (with one warning).

        `key` (CHANNEL_ASSERTION_KEY) hashes the user into the per-source key; None: read per turn.
        `memory` keeps each user's last answer and miss count (in this process by default).
        """
        self.token = token
        self.limiter = limiter or RateLimiter()
        operator = operator or {k: d for k, (_, d) in OPERATOR_ENV.items()}
        self.turns = VoiceTurns(operator, key, memory)
        self._warned = False

    def authorised(self, request: Request) -> bool:
        """Whether the caller knows the shared secret (always, when none is configured)."""
        if not self.token:
            if not self._warned:
                logger.warning("voice: no VOICE_TOKEN configured, the webhook accepts any caller")
                self._warned = True
            return True
        given = presented_token(request) or ""
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and the webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return voice_error("unauthorized", 401)
            try:
                turn = parse_voice_request(request.body or b"")
            except RequestRejected as exc:
                return voice_error(exc.code, exc.status)
            wait = self.limiter.retry_after(turn.user_id)
            if wait > 0:
                return voice_error("rate_limited", 429, retry_after=max(1, math.ceil(wait)))
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return voice_error("unavailable", 503)
            try:
                reply = await self.turns.handle(on_new_message, turn)
            except Exception:  # the HTTP boundary: the user hears "busy", never a bare 500
                logger.exception("voice: the turn failed")
                reply = busy_reply()
            return response.json(reply_body(reply))

        return hook
