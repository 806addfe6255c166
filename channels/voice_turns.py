"""One turn of a voice conversation: the hypotheses passed on, no-input and endings.

The channel only translates. What must outlive a request is the channel's own memory
(channels/conversation_memory.py), per user conversation: the last answer the assistant gave
(to ask its question again after silence, and to pick up an unfinished flow when the skill
is opened again) and, for the current platform session, how many turns in a row the user was
not heard or not understood. Silence is answered here, from that memory: the dialogue never
hears it, and nothing is written into its conversation.
"""

from __future__ import annotations

import hashlib
import logging
from asyncio import CancelledError
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import UserMessage

from channels import templates
from channels.answers import AnswerCollector
from channels.conversation_memory import (
    ConversationMemory,
    LocalMemory,
    MemoryUnavailable,
    Remembered,
)
from channels.metadata import client_source
from channels.speech import Speech, render_reprompt, render_speech, speech_from_text
from channels.voice_asr import clean_asr_text
from channels.voice_request import VoiceRequest
from core.identity.assertion import CLIENT_KEY, key_from_env
from core.identity.conversation import namespaced
from turns.answer import NOTHING, Answer
from turns.nbest import ASR_HYPOTHESES, Hypothesis, as_metadata
from turns.questions import QUESTIONS

logger = logging.getLogger(__name__)

CHANNEL = "voice"
VOICE_KEY = "voice"
MAX_MISSES = 2
LAUNCH_TEXT = "/greet"
DISPLAY_CHARS = 300
# The steps of a flow (a cancellation, a verification, the reason): reopening the skill in
# the middle of one picks it up again.
FLOW_STEPS = frozenset(q.about for q in QUESTIONS.values() if q.flow)


@dataclass(frozen=True)
class Reply:
    """What the speaker says back."""

    speech: Speech
    reprompt: Optional[Speech]
    end_session: bool
    display_text: str


def sender_for(user_id: str) -> str:
    """Rasa's conversation id for a platform user: stable across skill sessions, not the raw id.

    In the voice namespace (`voice:<hash>`), so no other channel's client can name it.
    """
    return namespaced(CHANNEL, hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32])


def user_source(key: str, user_id: str) -> str:
    """The per-source key of a speaker user: the platform's user, not its shared address."""
    # Every request comes from the platform's servers, so their address would lump all
    # speaker users together; the platform (authenticated by VOICE_TOKEN) names the user.
    return client_source(key, f"{CHANNEL}-user:{user_id}")


def session_key(session_id: str) -> str:
    """The platform session as kept in the tracker: letters only.

    The redacting tracker store hides digit runs in every stored string (a session id such as
    "sess-123456" would come back as "sess-******"), so the id is kept as a hash spelled in
    letters, which survives storage unchanged and can be compared with the next request's.
    """
    digest = hashlib.sha256(session_id.encode("utf-8")).digest()
    return "".join(chr(ord("a") + byte % 26) for byte in digest[:16])


def unfinished_flow(answer: Optional[Answer]) -> bool:
    """Whether the answer left a flow waiting at one of its steps."""
    return answer is not None and answer.expects != NOTHING and answer.step in FLOW_STEPS


def spoken_messages(answer: Answer) -> List[Dict[str, Any]]:
    """The answer's messages as the speech renderer reads them (text and options)."""
    return [{"text": m.get("text"), "options": m.get("options") or []} for m in answer.messages]


def busy_reply() -> Reply:
    """The assistant gave no answer: say so (only what is certain) and close the session."""
    return Reply(speech_from_text(templates.NO_REPLY), None, True, templates.NO_REPLY)


def _display(messages: List[Dict[str, Any]]) -> str:
    text = "\n".join(str(m.get("text")) for m in messages if m.get("text"))
    return text if len(text) <= DISPLAY_CHARS else text[: DISPLAY_CHARS - 1] + "…"


def _reply(messages: List[Dict[str, Any]], end: bool = False) -> Reply:
    reprompt = (
        None if end else (render_reprompt(messages) or speech_from_text(templates.VOICE_REPROMPT))
    )
    return Reply(render_speech(messages), reprompt, end, _display(messages))


class VoiceTurns:
    """Runs turns: `on_new_message` hands the tidied hypotheses to the dialogue, where the
    Rasa server chooses among them (rasa_patches/nbest.py); the channel never parses."""

    def __init__(
        self,
        operator: Dict[str, str],
        key: Optional[str] = None,
        memory: Optional[ConversationMemory] = None,
    ) -> None:
        """`operator` fills the goodbye's hotline, SMS number and keyword; `key` hashes users;
        `memory` keeps each user's last answer and miss count (in this process by default)."""
        self.goodbye_text = templates.VOICE_GOODBYE.format(**operator)
        self.key = key
        self.memory = memory if memory is not None else LocalMemory()  # an empty one is falsy

    async def handle(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], req: VoiceRequest
    ) -> Reply:
        """One request → what to say."""
        sender = sender_for(req.user_id)
        if req.kind == "end":
            return Reply(speech_from_text(""), None, True, "")
        remembered = self._recall(sender)
        if req.kind == "launch":
            return await self._launch(on_new_message, req, sender, remembered)
        hypotheses = [Hypothesis(clean_asr_text(h.text), h.confidence) for h in req.hypotheses]
        hypotheses = [h for h in hypotheses if h.text]
        if req.kind == "no_input" or not hypotheses:
            return self._no_input(req, sender, remembered)
        return await self._turn(on_new_message, req, sender, remembered, hypotheses)

    async def _launch(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        req: VoiceRequest,
        sender: str,
        remembered: Remembered,
    ) -> Reply:
        """Opening the skill: greet, or pick up an unfinished flow where it stopped."""
        previous = remembered.answer
        if previous is not None and unfinished_flow(previous):
            messages = spoken_messages(previous)
            again = render_reprompt(messages) or speech_from_text(templates.VOICE_REPROMPT)
            speech = speech_from_text(templates.VOICE_WELCOME_BACK).then(again)
            self._remember(sender, previous, req, misses=0)
            return Reply(speech, again, False, _display(messages))
        return await self._turn(on_new_message, req, sender, remembered, [])

    async def _turn(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        req: VoiceRequest,
        sender: str,
        remembered: Remembered,
        hypotheses: List[Hypothesis],
    ) -> Reply:
        """Hands the hypotheses to the dialogue (the first as the text; none: the launch's
        greeting) and renders its answer."""
        collector = AnswerCollector(CHANNEL)
        metadata: Dict[str, Any] = {
            VOICE_KEY: {"session": session_key(req.session_id)},
            CLIENT_KEY: user_source(self.key or key_from_env(), req.user_id),
        }
        if hypotheses:
            metadata[ASR_HYPOTHESES] = as_metadata(hypotheses)
        text = hypotheses[0].text if hypotheses else LAUNCH_TEXT
        try:
            await on_new_message(
                UserMessage(text, collector, sender, input_channel=CHANNEL, metadata=metadata)
            )
        except CancelledError:
            logger.error("voice: handling the message timed out")
        except Exception:  # the HTTP boundary: say so aloud rather than leave the user in silence
            logger.exception("voice: handling the message failed")
        answer = collector.answer()
        if answer.empty:
            return busy_reply()
        # Not understood: the dialogue says so (its fallback asks to rephrase).
        missed = answer.not_understood
        misses = self._misses(remembered, req) + 1 if missed else 0
        self._remember(sender, answer, req, misses)
        if misses >= MAX_MISSES:
            return self._goodbye()
        messages = spoken_messages(answer)
        return _reply(messages, end=answer.ended)

    def _no_input(self, req: VoiceRequest, sender: str, remembered: Remembered) -> Reply:
        """Nothing heard: ask the last question again once, then say goodbye."""
        misses = self._misses(remembered, req) + 1
        self._remember(sender, remembered.answer, req, misses)
        if misses >= MAX_MISSES:
            return self._goodbye()
        previous = spoken_messages(remembered.answer) if remembered.answer else []
        again = render_reprompt(previous) or speech_from_text(templates.VOICE_REPROMPT)
        speech = speech_from_text(templates.VOICE_NO_INPUT).then(again)
        return Reply(speech, again, False, templates.VOICE_NO_INPUT)

    def _goodbye(self) -> Reply:
        """Ends politely with the other ways to cancel."""
        return Reply(speech_from_text(self.goodbye_text), None, True, self.goodbye_text)

    @staticmethod
    def _misses(remembered: Remembered, req: VoiceRequest) -> int:
        """Misses in a row so far in this platform session (a new session starts afresh)."""
        if remembered.state.get("session") != session_key(req.session_id):
            return 0
        return int(remembered.state.get("misses") or 0)

    def _recall(self, sender: str) -> Remembered:
        try:
            return self.memory.recall(sender)
        except MemoryUnavailable:  # then as for a new user: greet, count from zero
            logger.warning("voice: the channel memory could not be read")
            return Remembered()

    def _remember(
        self, sender: str, answer: Optional[Answer], req: VoiceRequest, misses: int
    ) -> None:
        state = {"session": session_key(req.session_id), "misses": misses}
        try:
            self.memory.remember(sender, Remembered(answer=answer, state=state))
        except MemoryUnavailable:  # the reply still goes out
            logger.warning("voice: the channel memory could not be written")
