"""Voice turns against a scripted agent: n-best, no-input, not understood, launch, endings.

The agent is a stand-in with Rasa's real in-memory tracker and lock stores, so what the
channel keeps in the conversation is checked exactly as Rasa would store it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered

from channels import templates
from channels.voice_request import Hypothesis, VoiceRequest
from channels.voice_turns import (
    MAX_PARSED,
    VoiceTurns,
    ended_by_bot,
    last_bot_messages,
    misses,
    sender_for,
    session_key,
)
from redaction.text import redact_value

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
OPERATOR = {"hotline": "10086", "sms_number": "10086", "sms_keyword": "0000"}
# text → (intent, entities); anything else is not understood
NLU: Dict[str, Tuple[str, List[str]]] = {
    "/greet": ("greet", []),
    "取消腾讯视频": ("cancel_subscription", ["service"]),
    "取消藤训视频": ("cancel_subscription", []),
    "13800138000": ("inform", ["phone_number"]),
    "要三八": ("inform", []),
    "再见": ("goodbye", []),
}
Reply = List[Tuple[str, str, Optional[list]]]  # (utter_action, text, buttons)


def default_bot(text: str, intent: str) -> Reply:
    if intent == "greet":
        return [("utter_greet", "您好，请问有什么可以帮您？", None)]
    if intent == "cancel_subscription":
        return [("utter_ask_phone_number", "请告诉我开通会员的手机号码（11位）。", None)]
    if intent == "goodbye":
        return [("utter_goodbye", "好的，感谢您的使用，再见！", None)]
    if intent == "nlu_fallback":
        return [("utter_rephrase", "抱歉，我没太理解您的意思，能换个说法吗？", None)]
    return [("utter_ask_verification_code", "请告诉我短信中的6位验证码。", None)]


class ScriptedAgent:
    """Enough of rasa.core.agent.Agent for the channel: parse, handle, stores, processor."""

    def __init__(self, bot: Callable[[str, str], Reply] = default_bot) -> None:
        self.tracker_store = InMemoryTrackerStore(DOMAIN)
        self.domain = DOMAIN
        self.lock_store = InMemoryLockStore()
        self.processor = self
        self.bot = bot
        self.parsed: List[str] = []
        self.handled: List[UserMessage] = []

    async def parse_message(self, text: str) -> dict:
        self.parsed.append(text)
        intent, entities = NLU.get(text, ("nlu_fallback", []))
        return {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0 if intent != "nlu_fallback" else 0.45},
            "entities": [{"entity": e, "value": text} for e in entities],
        }

    async def fetch_tracker_and_update_session(self, sender, output_channel=None, metadata=None):
        return await self.tracker_store.get_or_create_tracker(sender, append_action_listen=False)

    async def handle_message(self, message: UserMessage) -> None:
        """What Rasa does with a message: log it, run the bot, store the events."""
        self.handled.append(message)
        parse = await self.parse_message(message.text)
        async with self.lock_store.lock(message.sender_id):
            tracker = await self.fetch_tracker_and_update_session(message.sender_id)
            tracker.update(
                UserUttered(
                    message.text,
                    parse["intent"],
                    parse["entities"],
                    parse,
                    input_channel=message.input_channel,
                    metadata=message.metadata,
                )
            )
            for action, text, buttons in self.bot(message.text, parse["intent"]["name"]):
                if buttons:
                    await message.output_channel.send_text_with_buttons(
                        message.sender_id, text, buttons
                    )
                else:
                    await message.output_channel.send_text_message(message.sender_id, text)
                tracker.update(
                    BotUttered(text, data={"buttons": buttons}, metadata={"utter_action": action})
                )
            await self.tracker_store.save(tracker)

    async def events(self, user: str = "u1") -> list:
        tracker = await self.tracker_store.retrieve(sender_for(user))
        return list(tracker.events) if tracker else []


def request(
    text: Optional[str] = None, session: str = "s1", new: bool = False, **kw
) -> VoiceRequest:
    hyps = kw.pop("hypotheses", None)
    if hyps is None:
        hyps = (Hypothesis(text, None),) if text else ()
    kind = kw.pop("kind", "text" if hyps else ("launch" if new else "no_input"))
    return VoiceRequest(session, new, kw.pop("user", "u1"), "d1", kind, tuple(hyps))


def run(turns: VoiceTurns, agent: ScriptedAgent, req: VoiceRequest):
    return asyncio.run(turns.handle(agent, agent.handle_message, req))


@pytest.fixture
def agent() -> ScriptedAgent:
    return ScriptedAgent()


@pytest.fixture
def turns() -> VoiceTurns:
    return VoiceTurns(OPERATOR)


def test_sender_is_a_stable_hash_of_the_user() -> None:
    """Same user, same conversation; the platform's id is not stored as such."""
    assert sender_for("amzn1.account.X") == sender_for("amzn1.account.X")
    assert sender_for("a") != sender_for("b")
    assert "amzn1" not in sender_for("amzn1.account.X")
    assert sender_for("u1").startswith("voice:") and len(sender_for("u1")) == 38


@given(st.text(min_size=1, max_size=80))
def test_the_session_key_survives_the_redacting_store(session_id: str) -> None:
    """Letters only: the tracker store's redaction (digit runs hidden) leaves it as it is."""
    key = session_key(session_id)
    assert key.isalpha() and key.isascii() and len(key) == 16
    assert redact_value({"voice": {"session": key}}) == {"voice": {"session": key}}
    assert session_key("sess-123456") != session_key("sess-******")


def test_a_turn_goes_to_rasa_as_the_voice_channel(turns, agent) -> None:
    """The chosen text, channel voice, and the platform session in the metadata."""
    reply = run(turns, agent, request("取消腾讯视频"))
    message = agent.handled[-1]
    assert (message.text, message.input_channel, message.sender_id) == (
        "取消腾讯视频",
        "voice",
        sender_for("u1"),
    )
    assert message.metadata["voice"]["session"] == session_key("s1")
    assert reply.speech.text == "请告诉我开通会员的手机号码，十一位。"
    assert reply.reprompt.text == "请告诉我开通会员的手机号码，十一位。"
    assert reply.display_text == "请告诉我开通会员的手机号码（11位）。"
    assert not reply.end_session


def test_nbest_picks_the_reading_with_the_asked_for_entity(turns, agent) -> None:
    """Waiting for a phone number, the hypothesis that contains one is sent, not the first."""
    run(turns, agent, request("取消腾讯视频"))
    tracker = asyncio.run(agent.tracker_store.retrieve(sender_for("u1")))
    tracker.update(SlotSet("requested_slot", "phone_number"))
    asyncio.run(agent.tracker_store.save(tracker))
    hyps = (Hypothesis("要三八", 0.9), Hypothesis("13800138000", 0.4))
    reply = run(turns, agent, request(hypotheses=hyps))
    assert agent.handled[-1].text == "13800138000"
    assert agent.handled[-1].metadata["voice"]["hypothesis_rank"] == 1
    assert "验证码" in reply.speech.text


def test_nbest_without_a_question_prefers_a_recognised_name(turns, agent) -> None:
    """藤训视频 (no entity) loses to 腾讯视频 (a catalog name), though ASR ranked it first."""
    hyps = (Hypothesis("嗯，取消藤训视频", 0.7), Hypothesis("取消腾讯视频", 0.6))
    run(turns, agent, request(hypotheses=hyps))
    assert agent.handled[-1].text == "取消腾讯视频"
    assert agent.parsed[:2] == ["取消藤训视频", "取消腾讯视频"], "fillers go before parsing"


def test_only_the_first_hypotheses_are_parsed(turns, agent) -> None:
    """Each parse costs time; the tail of a long list is ignored."""
    hyps = tuple(Hypothesis(f"噪声{i}", None) for i in range(8))
    run(turns, agent, request(hypotheses=hyps))
    assert len(agent.parsed) == MAX_PARSED + 1  # + the scripted bot's own parse


def test_no_input_reprompts_once_then_ends_with_other_ways(turns, agent) -> None:
    """Silence: the last question again, then a polite goodbye naming APP, SMS and hotline."""
    run(turns, agent, request("取消腾讯视频"))
    first = run(turns, agent, request(""))
    assert first.speech.text == "抱歉，我没有听清。请告诉我开通会员的手机号码，十一位。"
    assert first.reprompt.text == "请告诉我开通会员的手机号码，十一位。"
    assert not first.end_session
    second = run(turns, agent, request(""))
    assert second.end_session and second.reprompt is None
    said = second.speech.text
    assert "营业厅APP" in said and "零零零零" in said and "幺零零八六" in said and "再见" in said
    assert second.display_text == templates.VOICE_GOODBYE.format(**OPERATOR)
    assert len(agent.handled) == 1, "silence is not sent to the NLU"


def test_the_count_lives_in_the_tracker_not_the_process(agent) -> None:
    """A second channel instance (another process) sees the first no-input."""
    run(VoiceTurns(OPERATOR), agent, request("取消腾讯视频"))
    run(VoiceTurns(OPERATOR), agent, request(""))
    assert run(VoiceTurns(OPERATOR), agent, request("")).end_session
    events = asyncio.run(agent.events())
    markers = [
        e.metadata["voice"]["event"]
        for e in events
        if isinstance(e, BotUttered) and "voice" in e.metadata
    ]
    assert markers == ["no_input", "ended"]


def test_an_understood_turn_resets_the_count(turns, agent) -> None:
    """no-input, then an answer, then no-input: only a reprompt."""
    run(turns, agent, request("取消腾讯视频"))
    run(turns, agent, request(""))
    run(turns, agent, request("13800138000"))
    again = run(turns, agent, request(""))
    assert not again.end_session
    assert again.speech.text == "抱歉，我没有听清。请告诉我短信中的六位验证码。"


def test_a_new_skill_session_starts_counting_afresh(turns, agent) -> None:
    """The goodbye closed session s1; in s2 the first silence is only reprompted."""
    run(turns, agent, request("取消腾讯视频"))
    run(turns, agent, request(""))
    assert run(turns, agent, request("")).end_session
    assert not run(turns, agent, request("", session="s2")).end_session


def test_two_misunderstandings_end_the_session(turns, agent) -> None:
    """Not understood: Rasa's rephrase the first time, the goodbye the second time."""
    first = run(turns, agent, request("叽里咕噜"))
    assert "换个说法" in first.speech.text and not first.end_session
    second = run(turns, agent, request("哗啦哗啦"))
    assert second.end_session and "幺零零八六" in second.speech.text


def test_silence_then_misunderstanding_also_ends(turns, agent) -> None:
    """The two kinds of miss add up."""
    run(turns, agent, request("取消腾讯视频"))
    run(turns, agent, request(""))
    assert run(turns, agent, request("叽里咕噜")).end_session


def test_filler_only_speech_is_no_input(turns, agent) -> None:
    """ "嗯" or "啊？" never reaches the NLU, where it would read as yes."""
    run(turns, agent, request("取消腾讯视频"))
    reply = run(turns, agent, request(hypotheses=(Hypothesis("啊？", 0.9), Hypothesis("嗯", 0.5))))
    assert reply.speech.text.startswith("抱歉，我没有听清。")
    assert len(agent.handled) == 1


def test_launch_greets_a_new_user(turns, agent) -> None:
    """Opening the skill with nothing said: Rasa's greeting."""
    reply = run(turns, agent, request("", new=True))
    assert agent.handled[-1].text == "/greet"
    assert reply.speech.text == "您好，请问有什么可以帮您？"


def test_launch_mid_flow_picks_up_where_it_stopped(turns, agent) -> None:
    """Back after fetching the phone: welcome back and the pending question, no greeting."""
    run(turns, agent, request("取消腾讯视频"))
    tracker = asyncio.run(agent.tracker_store.retrieve(sender_for("u1")))
    tracker.update(ActiveLoop("cancel_form"))
    asyncio.run(agent.tracker_store.save(tracker))
    reply = run(turns, agent, request("", session="s2", new=True))
    assert len(agent.handled) == 1
    assert reply.speech.text == (
        "欢迎回来，我们接着刚才的办理。请告诉我开通会员的手机号码，十一位。"
    )


def test_launch_after_rasas_session_expired_greets_again(turns, agent) -> None:
    """An hour later Rasa starts afresh, so the channel does not pretend to resume."""
    run(turns, agent, request("取消腾讯视频"))
    tracker = asyncio.run(agent.tracker_store.retrieve(sender_for("u1")))
    for event in tracker.events:
        event.timestamp -= DOMAIN.session_config.session_expiration_time * 60 + 1
    tracker.update(ActiveLoop("cancel_form"))
    asyncio.run(agent.tracker_store.save(tracker))
    reply = run(turns, agent, request("", session="s2", new=True))
    assert agent.handled[-1].text == "/greet" and reply.speech.text.startswith("您好")


def test_the_bots_goodbye_ends_the_session(turns, agent) -> None:
    """utter_goodbye closes the microphone."""
    reply = run(turns, agent, request("再见"))
    assert reply.end_session and reply.reprompt is None


def test_end_request_says_nothing(turns, agent) -> None:
    """The platform tells us the user left."""
    reply = run(turns, agent, request(kind="end"))
    assert reply.end_session and reply.speech.text == ""
    assert not agent.handled


def test_no_reply_from_the_bot_is_said_as_busy(turns) -> None:
    """The action server down, Rasa silent: the user hears 系统繁忙, not nothing."""
    agent = ScriptedAgent(bot=lambda text, intent: [])
    reply = run(turns, agent, request("取消腾讯视频"))
    assert reply.speech.text == "系统繁忙，暂时无法回复您，请稍后再试。" and reply.end_session


def test_a_failing_handler_is_said_as_busy(turns, agent) -> None:
    """An exception inside Rasa is logged and answered, not raised."""

    async def broken(message: UserMessage) -> None:
        raise RuntimeError("boom")

    reply = asyncio.run(turns.handle(agent, broken, request("取消腾讯视频")))
    assert reply.speech.text == "系统繁忙，暂时无法回复您，请稍后再试。"


def test_buttons_are_spoken_and_kept_for_the_reprompt(turns) -> None:
    """Buttons reach speech; after a no-input the reprompt still offers them."""
    buttons = [{"title": "还要取消", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
    agent = ScriptedAgent(
        bot=lambda text, intent: [("utter_ask_another", "还需要取消其他会员吗？", buttons)]
    )
    reply = run(turns, agent, request("取消腾讯视频"))
    assert reply.speech.text == "还需要取消其他会员吗？您可以说“还要取消”或者“不用了”。"
    again = run(turns, agent, request(""))
    assert again.reprompt.text == "还需要取消其他会员吗？您可以说“还要取消”或者“不用了”。"


def test_tracker_helpers_ignore_the_channels_own_messages() -> None:
    """Markers are neither the bot's last words nor an ending."""
    events = [
        UserUttered("x", {"name": "inform"}, metadata={"voice": {"session": session_key("s")}}),
        BotUttered("问题？", metadata={"utter_action": "utter_ask"}),
        BotUttered("抱歉", metadata={"voice": {"event": "no_input", "session": session_key("s")}}),
    ]
    assert last_bot_messages(events) == [{"text": "问题？", "buttons": None}]
    assert misses(events, "s") == 1 and misses(events, "other") == 0
    assert not ended_by_bot(events)
    assert ended_by_bot([*events, BotUttered("再见", metadata={"utter_action": "utter_goodbye"})])
