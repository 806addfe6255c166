"""One turn of a voice conversation: hypothesis choice, the bot's turn, no-input and endings.

State that must outlive a request (how many times in a row the user was not heard or not
understood) is read from the Rasa tracker, never kept in this process: a no-input turn is
recorded as a BotUttered event carrying `{"voice": {"event": "no_input", "session": ...}}`
metadata, a not-understood turn is the user's own `nlu_fallback` UserUttered event.
"""

from __future__ import annotations

import hashlib
import logging
import time
from asyncio import CancelledError
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered

from channels import templates
from channels.metadata import client_source
from channels.speech import Speech, render_reprompt, render_speech, speech_from_text
from channels.voice_asr import FALLBACK_INTENT, Hypothesis, choose, clean_asr_text, expectation_for
from channels.voice_request import VoiceRequest
from core.identity.assertion import CLIENT_KEY, key_from_env
from core.identity.conversation import namespaced

logger = logging.getLogger(__name__)

CHANNEL = "voice"
VOICE_KEY = "voice"
MAX_PARSED = 5  # each hypothesis costs one NLU parse (~8 ms); the tail is rarely the right one
MAX_MISSES = 2
LAUNCH_TEXT = "/greet"
# Bot responses after which the conversation is over, so the speaker may close the microphone.
END_RESPONSES = frozenset({"utter_goodbye", "utter_glad_to_help", "utter_handoff"})
DISPLAY_CHARS = 300


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


def _voice_meta(event: Any) -> Dict[str, Any]:
    meta = getattr(event, "metadata", None) or {}
    value = meta.get(VOICE_KEY) if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def misses(events: Iterable[Any], session_id: str) -> int:
    """Consecutive no-input and not-understood turns at the end of this platform session."""
    key = session_key(session_id)
    count = 0
    for event in reversed(list(events)):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            same = _voice_meta(event).get("session") == key
            if same and (event.intent or {}).get("name") == FALLBACK_INTENT:
                count += 1
                continue
            break
        if isinstance(event, BotUttered) and _voice_meta(event).get("event") == "no_input":
            if _voice_meta(event).get("session") != key:
                break
            count += 1
    return count


def last_bot_messages(events: Iterable[Any]) -> List[Dict[str, Any]]:
    """The assistant's latest group of messages (text and buttons), without the channel's own."""
    found: List[Dict[str, Any]] = []
    for event in reversed(list(events)):
        if isinstance(event, UserUttered) and found:
            break
        if isinstance(event, BotUttered) and event.text and not _voice_meta(event):
            found.insert(0, {"text": event.text, "buttons": (event.data or {}).get("buttons")})
    return found


def ended_by_bot(events: Iterable[Any]) -> bool:
    """Whether the bot's last turn closed the conversation (goodbye, handoff)."""
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and not _voice_meta(event):
            return (event.metadata or {}).get("utter_action") in END_RESPONSES
    return False


def _fresh(agent: Any, tracker: Any) -> bool:
    """Whether Rasa would still continue this conversation (its session has not expired)."""
    user = tracker.get_last_event_for(UserUttered)
    config = getattr(getattr(agent, "domain", None), "session_config", None)
    if user is None or config is None or not config.are_sessions_enabled():
        return True
    return time.time() - user.timestamp < config.session_expiration_time * 60


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
    """Runs turns against a loaded Rasa agent (`request.app.ctx.agent`)."""

    def __init__(self, operator: Dict[str, str], key: Optional[str] = None) -> None:
        """`operator` fills the goodbye's hotline, SMS number and keyword; `key` hashes users."""
        self.goodbye_text = templates.VOICE_GOODBYE.format(**operator)
        self.key = key

    async def handle(
        self, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]], req: VoiceRequest
    ) -> Reply:
        """One request → what to say; the conversation state lives in the agent's tracker store."""
        sender = sender_for(req.user_id)
        if req.kind == "end":
            return Reply(speech_from_text(""), None, True, "")
        if req.kind == "launch":
            return await self._launch(agent, on_new_message, req, sender)
        hypotheses = [Hypothesis(clean_asr_text(h.text), h.confidence) for h in req.hypotheses]
        hypotheses = [h for h in hypotheses if h.text]
        if req.kind == "no_input" or not hypotheses:
            return await self._no_input(agent, req, sender)
        tracker = await agent.tracker_store.retrieve(sender)
        expect = expectation_for(tracker.get_slot("requested_slot") if tracker else None)
        candidates = hypotheses[:MAX_PARSED]
        parses = [await agent.parse_message(h.text) for h in candidates]
        pick = choose(candidates, parses, expect)
        return await self._turn(agent, on_new_message, req, sender, candidates[pick], pick)

    async def _launch(
        self, agent: Any, on_new_message: Callable, req: VoiceRequest, sender: str
    ) -> Reply:
        """Opening the skill: greet, or pick up an unfinished flow where it stopped."""
        tracker = await agent.tracker_store.retrieve(sender)
        previous = last_bot_messages(tracker.events) if tracker else []
        if tracker is not None and tracker.active_loop_name and previous and _fresh(agent, tracker):
            again = render_reprompt(previous) or speech_from_text(templates.VOICE_REPROMPT)
            speech = speech_from_text(templates.VOICE_WELCOME_BACK).then(again)
            return Reply(speech, again, False, _display(previous))
        return await self._turn(
            agent, on_new_message, req, sender, Hypothesis(LAUNCH_TEXT, None), 0
        )

    async def _turn(
        self,
        agent: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        req: VoiceRequest,
        sender: str,
        chosen: Hypothesis,
        rank: int,
    ) -> Reply:
        """Hands the chosen text to Rasa and renders what it answered."""
        collector = CollectingOutputChannel()
        meta = {
            "session": session_key(req.session_id),
            "hypothesis_rank": rank,
            "asr_confidence": chosen.confidence,
        }
        try:
            await on_new_message(
                UserMessage(
                    chosen.text,
                    collector,
                    sender,
                    input_channel=CHANNEL,
                    metadata={
                        VOICE_KEY: meta,
                        CLIENT_KEY: user_source(self.key or key_from_env(), req.user_id),
                    },
                )
            )
        except CancelledError:
            logger.error("voice: handling the message timed out")
        except Exception:  # the HTTP boundary: say so aloud rather than leave the user in silence
            logger.exception("voice: handling the message failed")
        messages = [m for m in collector.messages if m.get("text")]
        if not messages:
            return busy_reply()
        tracker = await agent.tracker_store.retrieve(sender)
        events = list(tracker.events) if tracker else []
        if misses(events, req.session_id) >= MAX_MISSES:
            return await self._give_up(agent, req, sender)
        return _reply(messages, end=ended_by_bot(events))

    async def _no_input(self, agent: Any, req: VoiceRequest, sender: str) -> Reply:
        """Nothing heard: ask the last question again once, then say goodbye."""
        async with agent.lock_store.lock(sender):
            tracker = await agent.processor.fetch_tracker_and_update_session(
                sender, CollectingOutputChannel()
            )
            if misses(tracker.events, req.session_id) + 1 >= MAX_MISSES:
                return await self._record_goodbye(agent, tracker, req)
            again = render_reprompt(last_bot_messages(tracker.events))
            again = again or speech_from_text(templates.VOICE_REPROMPT)
            speech = speech_from_text(templates.VOICE_NO_INPUT).then(again)
            tracker.update(
                BotUttered(speech.text, metadata={VOICE_KEY: self._marker("no_input", req)})
            )
            await agent.tracker_store.save(tracker)
        return Reply(speech, again, False, templates.VOICE_NO_INPUT)

    async def _give_up(self, agent: Any, req: VoiceRequest, sender: str) -> Reply:
        async with agent.lock_store.lock(sender):
            tracker = await agent.processor.fetch_tracker_and_update_session(
                sender, CollectingOutputChannel()
            )
            return await self._record_goodbye(agent, tracker, req)

    async def _record_goodbye(self, agent: Any, tracker: Any, req: VoiceRequest) -> Reply:
        """Ends politely with the other ways to cancel; the goodbye is kept in the history."""
        tracker.update(
            BotUttered(self.goodbye_text, metadata={VOICE_KEY: self._marker("ended", req)})
        )
        await agent.tracker_store.save(tracker)
        return Reply(speech_from_text(self.goodbye_text), None, True, self.goodbye_text)

    @staticmethod
    def _marker(event: str, req: VoiceRequest) -> Dict[str, Any]:
        return {"event": event, "session": session_key(req.session_id)}
