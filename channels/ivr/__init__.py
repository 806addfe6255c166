"""Phone IVR channel: one platform event in, what to play and collect (or transfer) out.

Each call is the conversation `ivr:<call id>`. With `prefill_caller_number` the caller's mobile
(ANI) travels as a signed `caller_id` assertion (core.identity.assertion) for this call only: it
says where the code goes, it never proves the phone (an ANI can be spoofed).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import string
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.guard import RequestRejected
from channels.ivr.collect import (
    Collect,
    TurnOutcome,
    dtmf_text,
    next_collect,
    state_of,
    turn_outcome,
)
from channels.ivr.events import IvrEvent, caller_mobile, parse_ivr_event
from channels.ivr.prompts import closing_body, collect_body, hangup_ack, transfer_body
from channels.metadata import client_source
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, key_from_env, sign

logger = logging.getLogger(__name__)

DEV_TOKEN = "dev-ivr-token"
GREET = "/greet"
END_CALL = "/restart"
CALLER_ID = "caller_id"

__all__ = ["DEV_TOKEN", "IvrInput"]


Reply = Tuple[int, Dict[str, Any]]
GetTracker = Callable[[str], Awaitable[Any]]


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
        """Reads token (else IVR_TOKEN), prefill_caller_number, min_confidence, agent_queue."""
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
        )

    def __init__(
        self,
        token: str = DEV_TOKEN,
        prefill_caller_number: bool = False,
        min_confidence: float = 0.5,
        agent_queue: str = "membership_cancel",
        key: Optional[str] = None,
    ) -> None:
        """Configuration from credentials.yml; `key` (CHANNEL_ASSERTION_KEY) signs caller ids.

        Without a key (tests, direct construction) CHANNEL_ASSERTION_KEY is read per turn.
        """
        self.token = token
        self.prefill_caller_number = prefill_caller_number
        self.min_confidence = min_confidence
        self.agent_queue = agent_queue
        self.key = key

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
        phone = caller_mobile(event.ani) if self.prefill_caller_number else None
        if phone:
            meta[METADATA_KEY] = sign(
                key, conversation_id=event.sender_id, phone=phone, source=CALLER_ID
            )
        return meta

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and the authenticated event webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or agent.processor is None:  # no model loaded (yet)
                status, body = error("unavailable", 503)
            else:
                status, body = await self.process(
                    dict(request.headers),
                    request.body or b"",
                    on_new_message,
                    agent.processor.get_tracker,
                )
            return response.json(body, status=status, ensure_ascii=False)

        return hook

    async def process(
        self,
        headers: Mapping[str, str],
        body: bytes,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        get_tracker: GetTracker,
    ) -> Reply:
        """One webhook request, independent of the web framework: (status, JSON body)."""
        if not self.authorised(headers):
            return error("unauthorized", 401)
        try:
            event = parse_ivr_event(body)
        except RequestRejected as exc:
            return error(exc.code, exc.status)
        collect = await self._next_input(event, get_tracker)
        if collect is None:
            return self._reply(event, [templates.IVR_UNAVAILABLE], Collect("listen"), failed=True)
        if event.type == "hangup":
            return await self._hang_up(event, collect, on_new_message)
        text, own_reply = self._user_text(event, collect)
        if text is None:
            return self._reply(event, [own_reply], collect)
        outcome = await self._handle(event, text, on_new_message, get_tracker)
        if outcome is None:
            return self._reply(event, [templates.IVR_UNAVAILABLE], collect, failed=True)
        if outcome.ticket:
            return self._transfer(event, outcome)
        if outcome.closing:
            return self._closing(event, outcome)
        after = await self._next_input(event, get_tracker)
        return self._reply(event, outcome.texts, after or Collect("listen"), outcome)

    @staticmethod
    async def _next_input(event: IvrEvent, get_tracker: GetTracker) -> Optional[Collect]:
        """What to collect now, from the stored conversation; None if the store failed."""
        try:
            return next_collect(state_of(await get_tracker(event.sender_id)))
        except Exception:  # a tracker store outage: the caller hears "busy", not silence
            logger.exception("ivr: call %s: reading the conversation failed", event.call_id)
            return None

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
        self,
        event: IvrEvent,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        get_tracker: GetTracker,
    ) -> Optional[TurnOutcome]:
        """Runs one message through the bot; its outcome, or None when the bot did not answer."""
        message_id = new_message_id()
        if not await self._send(event, text, on_new_message, message_id):
            return None
        try:
            events = list((await get_tracker(event.sender_id)).events)
        except Exception:  # the message was handled; only its replies cannot be read back
            logger.exception("ivr: call %s: reading the replies failed", event.call_id)
            return None
        # This turn's replies are the events after our own message (found by its id).
        start = next(
            (
                i
                for i in range(len(events) - 1, -1, -1)
                if getattr(events[i], "message_id", None) == message_id
                and type(events[i]).__name__ == "UserUttered"
            ),
            None,
        )
        outcome = turn_outcome(events[start + 1 :] if start is not None else [])
        return outcome if outcome.texts else None

    async def _send(
        self,
        event: IvrEvent,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message_id: Optional[str] = None,
    ) -> bool:
        """Hands one message to Rasa; False when that failed (logged, never raised)."""
        try:
            await on_new_message(
                UserMessage(
                    text,
                    CollectingOutputChannel(),
                    event.sender_id,
                    input_channel=self.name(),
                    message_id=message_id,
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
        self,
        event: IvrEvent,
        collect: Collect,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> Reply:
        """Ends the conversation: a restart forgets the flow and the identity, changes no data."""
        await self._send(event, END_CALL, on_new_message)
        return 200, hangup_ack(event.call_id, collect.step)

    def _reply(
        self,
        event: IvrEvent,
        texts: List[str],
        collect: Collect,
        outcome: Optional[TurnOutcome] = None,
        failed: bool = False,
    ) -> Reply:
        """Play the texts, then collect the next input."""
        return 200, collect_body(event.call_id, texts, collect, outcome, failed)

    def _transfer(self, event: IvrEvent, outcome: TurnOutcome) -> Reply:
        """Play the handoff message, then transfer the call to the agents' queue."""
        return 200, transfer_body(event.call_id, outcome, self.agent_queue)

    def _closing(self, event: IvrEvent, outcome: TurnOutcome) -> Reply:
        """Play the goodbye, then hang up."""
        return 200, closing_body(event.call_id, outcome)
