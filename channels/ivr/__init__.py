"""Phone IVR channel: one platform event in, what to play and collect (or transfer) out.

Each call is the conversation `ivr:<call id>`. With `prefill_caller_number` the caller's mobile
(ANI) travels as a signed `caller_id` assertion (core.identity.assertion) for this call only: it
says where the code goes, it never proves the phone (an ANI can be spoofed).

What to collect next comes from the turn's answer (turns/answer.py). Between requests the
channel keeps each call's last answer in its own memory (channels/conversation_memory.py), to
know what a key pressed later picks; it never reads the tracker store.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import string
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

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
from channels.guard import RequestRejected
from channels.ivr.collect import Collect, dtmf_text, next_collect
from channels.ivr.events import IvrEvent, caller_mobile, parse_ivr_event
from channels.ivr.prompts import closing_body, collect_body, hangup_ack, transfer_body
from channels.metadata import client_source
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, key_from_env, sign
from turns.answer import Answer
from turns.nbest import ASR_HYPOTHESES, as_metadata

logger = logging.getLogger(__name__)

DEV_TOKEN = "dev-ivr-token"
GREET = "/greet"
END_CALL = "/restart"
CALLER_ID = "caller_id"

__all__ = ["DEV_TOKEN", "IvrInput"]


Reply = Tuple[int, Dict[str, Any]]
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# What the channel remembers of a call besides the last answer: whether the caller spoke.
SPOKE = "caller_spoke"


def error(code: str, status: int) -> Reply:
    """A JSON error body: a machine-readable code and a readable message."""
    message = templates.IVR_ERROR_MESSAGES.get(code) or templates.ERROR_MESSAGES.get(code, code)
    return status, {"error": code, "message": message}


def caller_source(key: str, event: IvrEvent) -> str:
    """The per-source key of a call: its caller's mobile number, else the call itself."""
    # Every request comes from the telephony platform, whose address says nothing about the
    # caller. A hidden number gets its own source per call rather than one shared by everybody.
    phone = caller_mobile(event.ani)
    return client_source(key, f"ivr-caller:{phone}" if phone else f"ivr-call:{event.call_id}")


def new_message_id() -> str:
    """A random message id of letters only."""
    # A redacting tracker store hides digit runs (codes) in every stored field, and a hex id
    # can contain six digits in a row: letters keep the id intact, so the turn can be found.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(24))


class IvrInput(InputChannel):
    """Turns telephony events (start, speech, DTMF, hang-up) into messages, and replies into
    play / collect / transfer / hang-up instructions."""

    @classmethod
    def name(cls) -> str:
        """The channel name: URL /webhooks/ivr/…, trackers' input channel `ivr`."""
        return "ivr"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads token (else IVR_TOKEN), prefill_caller_number, min_confidence, agent_queue,
        and where calls are remembered (memory_url / memory_url_env, memory_ttl)."""
        credentials = credentials or {}
        token = str(credentials.get("token") or os.environ.get("IVR_TOKEN") or "")
        if not token:
            logger.warning(
                "ivr: no shared secret configured (credentials 'token' or IVR_TOKEN); "
                "using the public development token — set one in production"
            )
            token = DEV_TOKEN
        return cls(
            token=token,
            prefill_caller_number=bool(credentials.get("prefill_caller_number", False)),
            min_confidence=float(credentials.get("min_confidence", 0.5)),
            agent_queue=str(credentials.get("agent_queue", "membership_cancel")),
            key=key_from_env(),
            memory=memory_from_credentials(credentials),
        )

    def __init__(
        self,
        token: str = DEV_TOKEN,
        prefill_caller_number: bool = False,
        min_confidence: float = 0.5,
        agent_queue: str = "membership_cancel",
        key: Optional[str] = None,
        memory: Optional[ConversationMemory] = None,
    ) -> None:
        """Configuration from credentials.yml; `key` (CHANNEL_ASSERTION_KEY) signs caller ids;
        `memory` keeps each call's last answer between requests (in this process by default).

        Without a key (tests, direct construction) CHANNEL_ASSERTION_KEY is read per turn.
        """
        self.token = token
        self.prefill_caller_number = prefill_caller_number
        self.min_confidence = min_confidence
        self.agent_queue = agent_queue
        self.key = key
        self.memory = memory if memory is not None else LocalMemory()

    def authorised(self, headers: Mapping[str, str]) -> bool:
        """Whether the request carries the shared secret (Bearer or X-IVR-Token header)."""
        headers = {str(k).lower(): str(v) for k, v in headers.items()}
        given = headers.get("x-ivr-token") or ""
        bearer = headers.get("authorization") or ""
        if not given and bearer.lower().startswith("bearer "):
            given = bearer[7:].strip()
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def metadata(self, event: IvrEvent) -> Dict[str, Any]:
        """Per-turn metadata: the call, its source, and the signed caller number when pre-fill
        is on."""
        key = self.key or key_from_env()
        meta: Dict[str, Any] = {
            "ivr": {"call_id": event.call_id, "event": event.type},
            CLIENT_KEY: caller_source(key, event),
        }
        if event.confidence is not None:
            meta["ivr"]["confidence"] = event.confidence
        if event.type == "speech" and event.hypotheses:
            # Passed on as they came: the Rasa server chooses (rasa_patches/nbest.py).
            meta[ASR_HYPOTHESES] = as_metadata(event.hypotheses)
        phone = caller_mobile(event.ani) if self.prefill_caller_number else None
        if phone:
            meta[METADATA_KEY] = sign(
                key, conversation_id=event.sender_id, phone=phone, source=CALLER_ID
            )
        return meta

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The health route and the authenticated event webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():  # no model loaded (yet)
                status, body = error("unavailable", 503)
            else:
                status, body = await self.process(
                    dict(request.headers), request.body or b"", on_new_message
                )
            return response.json(body, status=status, ensure_ascii=False)

        return hook

    async def process(
        self, headers: Mapping[str, str], body: bytes, on_new_message: OnNewMessage
    ) -> Reply:
        """One webhook request, independent of the web framework: (status, JSON body)."""
        if not self.authorised(headers):
            return error("unauthorized", 401)
        try:
            event = parse_ivr_event(body)
        except RequestRejected as exc:
            return error(exc.code, exc.status)
        remembered = self._recall(event)
        if remembered is None:
            return self._reply(event, [templates.IVR_UNAVAILABLE], Collect("listen"), failed=True)
        collect = next_collect(remembered.answer, bool(remembered.state.get(SPOKE)))
        if event.type == "hangup":
            return await self._hang_up(event, collect, on_new_message)
        text, own_reply = self._user_text(event, collect)
        if text is None:
            return self._reply(event, [own_reply], collect)
        answer = await self._handle(event, text, on_new_message)
        if answer is None:
            return self._reply(event, [templates.IVR_UNAVAILABLE], collect, failed=True)
        # Slash payloads are the channel's own (greeting, keys); anything else the caller said.
        spoke = bool(remembered.state.get(SPOKE)) or not text.startswith("/")
        # Played even when it cannot be kept: the caller must hear what was done.
        self._remember(event, Remembered(answer, {SPOKE: spoke}))
        if answer.ticket:
            return self._transfer(event, answer)
        if answer.ended:
            return self._closing(event, answer)
        return self._reply(event, list(answer.texts), next_collect(answer, spoke), answer)

    def _recall(self, event: IvrEvent) -> Optional[Remembered]:
        """What the channel remembers of this call; None if its memory cannot be read."""
        try:
            return self.memory.recall(event.sender_id)
        except MemoryUnavailable:  # the caller hears "busy", not silence
            logger.exception("ivr: call %s: reading the call's memory failed", event.call_id)
            return None

    def _remember(self, event: IvrEvent, remembered: Remembered) -> None:
        """Keeps this turn's answer for the next request (a failure is logged)."""
        try:
            self.memory.remember(event.sender_id, remembered)
        except MemoryUnavailable:
            logger.exception("ivr: call %s: keeping the call's memory failed", event.call_id)

    def _user_text(self, event: IvrEvent, collect: Collect) -> Tuple[Optional[str], str]:
        """(text for the bot, ""), or (None, the channel's own reply) if nothing goes on."""
        if event.type == "start":
            return GREET, ""
        if event.type == "dtmf":
            text = dtmf_text(event.digits, collect)
            return (text, "") if text else (None, templates.IVR_BAD_KEY)
        if not event.text:
            return None, templates.IVR_NO_INPUT
        if event.confidence is not None and event.confidence < self.min_confidence:
            # A misheard "确认取消" must not cancel anything: ask again instead of guessing.
            return None, templates.IVR_LOW_CONFIDENCE
        return event.text, ""

    async def _handle(
        self, event: IvrEvent, text: str, on_new_message: OnNewMessage
    ) -> Optional[Answer]:
        """Runs one message through the bot; its answer, or None when the bot did not answer."""
        collector = AnswerCollector(self.name())
        if not await self._send(event, text, on_new_message, collector):
            return None
        answer = collector.answer()
        return None if answer.empty else answer

    async def _send(
        self,
        event: IvrEvent,
        text: str,
        on_new_message: OnNewMessage,
        collector: Optional[AnswerCollector] = None,
    ) -> bool:
        """Hands one message to Rasa; False when that failed (logged, never raised)."""
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector if collector is not None else AnswerCollector(self.name()),
                    event.sender_id,
                    input_channel=self.name(),
                    message_id=new_message_id(),
                    metadata=self.metadata(event),
                )
            )
        except CancelledError:
            logger.error("ivr: call %s: handling %s timed out", event.call_id, event.type)
            return False
        except Exception:  # the HTTP boundary: log it, answer the caller, never a bare 500
            logger.exception("ivr: call %s: handling %s failed", event.call_id, event.type)
            return False
        return True

    async def _hang_up(
        self, event: IvrEvent, collect: Collect, on_new_message: OnNewMessage
    ) -> Reply:
        """Ends the conversation: a restart forgets the flow and the identity, changes no data."""
        await self._send(event, END_CALL, on_new_message)
        try:
            self.memory.forget(event.sender_id)
        except MemoryUnavailable:  # it expires on its own
            logger.exception("ivr: call %s: forgetting the call failed", event.call_id)
        return 200, hangup_ack(event.call_id, collect.step)

    def _reply(
        self,
        event: IvrEvent,
        texts: List[str],
        collect: Collect,
        answer: Optional[Answer] = None,
        failed: bool = False,
    ) -> Reply:
        """Play the texts, then collect the next input."""
        return 200, collect_body(event.call_id, texts, collect, answer, failed)

    def _transfer(self, event: IvrEvent, answer: Answer) -> Reply:
        """Play the handoff message, then transfer the call to the agents' queue."""
        return 200, transfer_body(event.call_id, answer, self.agent_queue)

    def _closing(self, event: IvrEvent, answer: Answer) -> Reply:
        """Play the goodbye, then hang up."""
        return 200, closing_body(event.call_id, answer)
