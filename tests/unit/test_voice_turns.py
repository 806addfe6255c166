"""Voice turns against a scripted agent: n-best passed on, no-input, not understood, launch,
endings.

The agent is a stand-in that only answers, each reply with the `next` description the
dialogue gives it; the channel is handed nothing but its `handle_message`, so it can neither
parse (the n-best choice is the server's, tests/unit/test_nbest.py) nor touch a store.
What outlives a request is in the channel's memory, shared here between channel instances as
Redis would share it between processes.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage

from channels import templates
from channels.conversation_memory import LocalMemory, MemoryUnavailable, Remembered
from channels.voice_request import Hypothesis, VoiceRequest
from channels.voice_turns import (
    VoiceTurns,
    sender_for,
    session_key,
    unfinished_flow,
)
from redaction.text import redact_value
from turns.answer import Answer, answer_of, describe
from turns.nbest import ASR_HYPOTHESES

OPERATOR = {"hotline": "10086", "sms_number": "10086", "sms_keyword": "0000"}
# text → (intent, entities); anything else is not understood
NLU: Dict[str, Tuple[str, List[str]]] = {
    "/greet": ("greet", []),
    "取消腾讯视频": ("cancel_subscription", ["service"]),
    "取消藤训视频": ("cancel_subscription", []),
    "13800138000": ("inform", ["phone_number"]),
    "要三八": ("inform", []),
    "再见": ("goodbye", []),
    "你好": ("greet", []),
}
Reply = List[Tuple[str, str, Optional[list]]]  # (response, text, buttons)


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
    """Stands in for the dialogue behind `on_new_message` (it takes the message's text as
    said: choosing among hypotheses is the server's)."""

    def __init__(self, bot: Callable[[str, str], Reply] = default_bot) -> None:
        self.bot = bot
        self.handled: List[UserMessage] = []

    async def parse_message(self, text: str) -> dict:
        intent, entities = NLU.get(text, ("nlu_fallback", []))
        return {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0 if intent != "nlu_fallback" else 0.45},
            "entities": [{"entity": e, "value": text} for e in entities],
        }

    async def handle_message(self, message: UserMessage) -> None:
        """What Rasa does with a message: run the bot, send each reply with its `next`."""
        self.handled.append(message)
        parse = await self.parse_message(message.text)
        for response, text, buttons in self.bot(message.text, parse["intent"]["name"]):
            reply = {"text": text, "next": describe(response, buttons)}
            if buttons:
                reply["buttons"] = buttons
            await message.output_channel.send_response(message.sender_id, reply)


def request(
    text: Optional[str] = None, session: str = "s1", new: bool = False, **kw
) -> VoiceRequest:
    hyps = kw.pop("hypotheses", None)
    if hyps is None:
        hyps = (Hypothesis(text, None),) if text else ()
    kind = kw.pop("kind", "text" if hyps else ("launch" if new else "no_input"))
    return VoiceRequest(session, new, kw.pop("user", "u1"), "d1", kind, tuple(hyps))


def run(turns: VoiceTurns, agent: ScriptedAgent, req: VoiceRequest):
    return asyncio.run(turns.handle(agent.handle_message, req))


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory(clock: Clock) -> LocalMemory:
    return LocalMemory(ttl=3600, clock=clock)


@pytest.fixture
def agent() -> ScriptedAgent:
    return ScriptedAgent()


@pytest.fixture
def turns(memory: LocalMemory) -> VoiceTurns:
    return VoiceTurns(OPERATOR, memory=memory)


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


def test_every_hypothesis_is_passed_on_and_the_first_is_the_text(turns, agent) -> None:
    """The n-best list goes to the server as it came (tidied), the first as the message text;
    the channel chooses nothing."""
    run(turns, agent, request("取消腾讯视频"))
    hyps = (Hypothesis("要三八", 0.9), Hypothesis("13800138000", 0.4), Hypothesis("嗯", 0.1))
    run(turns, agent, request(hypotheses=hyps))
    message = agent.handled[-1]
    assert message.text == "要三八"
    assert message.metadata[ASR_HYPOTHESES] == [
        {"text": "要三八", "confidence": 0.9},
        {"text": "13800138000", "confidence": 0.4},
    ], "a filler-only reading is nothing heard: dropped"
    assert message.metadata["voice"] == {"session": session_key("s1")}


def test_fillers_are_tidied_before_passing_on(turns, agent) -> None:
    """Hesitations and the pauses inside a number read aloud go; the rest is passed as said."""
    hyps = (Hypothesis("嗯，取消藤训视频", 0.7), Hypothesis("幺三八，零零幺三，八零零零", 0.6))
    run(turns, agent, request(hypotheses=hyps))
    assert [h["text"] for h in agent.handled[-1].metadata[ASR_HYPOTHESES]] == [
        "取消藤训视频",
        "幺三八零零幺三八零零零",
    ]


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


def test_the_count_lives_in_the_memory_not_the_process(memory, agent) -> None:
    """A second channel instance (another process, one Redis) sees the first no-input."""
    run(VoiceTurns(OPERATOR, memory=memory), agent, request("取消腾讯视频"))
    run(VoiceTurns(OPERATOR, memory=memory), agent, request(""))
    assert run(VoiceTurns(OPERATOR, memory=memory), agent, request("")).end_session
    state = memory.recall(sender_for("u1")).state
    assert state == {"session": session_key("s1"), "misses": 2}
    assert len(agent.handled) == 1, "silence never reaches the dialogue"


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
    assert ASR_HYPOTHESES not in agent.handled[-1].metadata, "the channel's own payload"
    assert reply.speech.text == "您好，请问有什么可以帮您？"


def test_launch_mid_flow_picks_up_where_it_stopped(turns, agent) -> None:
    """Back after fetching the phone: welcome back and the pending question, no greeting."""
    run(turns, agent, request("取消腾讯视频"))
    reply = run(turns, agent, request("", session="s2", new=True))
    assert len(agent.handled) == 1
    assert reply.speech.text == (
        "欢迎回来，我们接着刚才的办理。请告诉我开通会员的手机号码，十一位。"
    )
    assert reply.display_text == "请告诉我开通会员的手机号码（11位）。"


def test_launch_after_an_open_question_greets(turns, agent) -> None:
    """A question outside a flow (the greeting's "有什么可以帮您") is not a flow to resume."""
    run(turns, agent, request("你好"))
    reply = run(turns, agent, request("", session="s2", new=True))
    assert agent.handled[-1].text == "/greet" and len(agent.handled) == 2
    assert reply.speech.text.startswith("您好")


def test_launch_after_rasas_session_expired_greets_again(turns, agent, clock) -> None:
    """An hour later Rasa starts afresh, and the channel's memory has expired with it."""
    run(turns, agent, request("取消腾讯视频"))
    clock.now += 3600 + 1
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

    reply = asyncio.run(turns.handle(broken, request("取消腾讯视频")))
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


def test_an_unfinished_flow_is_a_question_of_a_flow_step() -> None:
    """A phone, code, list or confirmation question is a flow; a greeting or an ending is not."""

    def said(response: str) -> Answer:
        return answer_of([{"text": "…", "next": describe(response)}])

    assert unfinished_flow(said("utter_ask_phone_number"))
    assert unfinished_flow(said("utter_ask_cancel_confirmed"))
    assert not unfinished_flow(said("utter_greet"))
    assert not unfinished_flow(said("utter_goodbye"))
    assert not unfinished_flow(None)


def test_without_the_memory_the_turn_is_still_answered(agent) -> None:
    """The memory (Redis) down: each request is answered as in a new conversation."""

    class Down(LocalMemory):
        def recall(self, conversation_id: str) -> Remembered:
            raise MemoryUnavailable("down")

        def remember(self, conversation_id: str, remembered: Remembered) -> None:
            raise MemoryUnavailable("down")

    turns = VoiceTurns(OPERATOR, memory=Down())
    assert "手机号码" in run(turns, agent, request("取消腾讯视频")).speech.text
    silence = run(turns, agent, request(""))
    assert silence.speech.text == templates.VOICE_NO_INPUT + templates.VOICE_REPROMPT
    assert not silence.end_session
