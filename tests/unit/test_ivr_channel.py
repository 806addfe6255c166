"""The IVR channel's request handling against a scripted stand-in for Rasa (no model needed)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage

from channels import templates
from channels.conversation_memory import LocalMemory, MemoryUnavailable, Remembered
from channels.ivr import DEV_TOKEN, IvrInput, new_message_id
from channels.ivr.collect import HUMAN
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, InvalidAssertion, verify
from tests.unit.test_ivr_collect import LIST
from turns.answer import AFFIRM, NEXT_KEY, describe

AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}
KEY = "assertion-key-for-tests"
# One bot message of the script: (text, response, buttons, template variables).
Said = Tuple[str, str, Optional[List[Dict[str, Any]]], Dict[str, Any]]
Script = Callable[[str], List[Said]]


def bot(text: str, response: str, buttons=None, **variables: Any) -> Said:
    """A bot message the dialogue sends: its text, response, buttons and variables."""
    return (text, response, buttons, variables)


class FakeRasa:
    """Records each message and answers from a script through the message's output channel,
    with the `next` description Rasa passes along (as the answer_nlg plugin makes it)."""

    def __init__(self, script: Optional[Script] = None, fail: bool = False) -> None:
        self.script = script or (lambda text: [])
        self.fail = fail
        self.received: List[UserMessage] = []

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.fail:
            raise ConnectionError("the action server is down")
        for text, response, buttons, variables in self.script(message.text):
            sent: Dict[str, Any] = {"text": text, NEXT_KEY: describe(response, buttons, variables)}
            if buttons:
                sent["buttons"] = buttons
            await message.output_channel.send_response(message.sender_id, sent)


def call(channel: IvrInput, rasa: FakeRasa, event: dict, headers: Optional[dict] = None) -> tuple:
    """One webhook request through the channel: (status, body)."""
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return asyncio.run(
        channel.process(AUTH if headers is None else headers, raw, rasa.on_new_message)
    )


def cancel_flow(text: str) -> List[Said]:
    """A tiny stand-in for the real dialogue: greet, ask phone, ask code, list, confirm."""
    if text == "/greet":
        return [bot("您好，我是退订助手。请问有什么可以帮您？", "utter_greet")]
    if text in ("我要取消会员", "/deny"):
        return [bot("请告诉我开通会员的手机号码（11位）。", "utter_ask_phone_number")]
    if text == "13800138000":
        return [
            bot("验证码已发送到138****8000，5分钟内有效。", "utter_code_sent"),
            bot("请告诉我短信里的6位验证码。", "utter_ask_verification_code"),
        ]
    if text == "123456":
        return [bot("您的号码138****8000下开通了以下会员：…", "utter_subscription_list", LIST)]
    if text == "2":
        return [bot("确认要取消腾讯视频VIP的自动续费吗？", "utter_ask_cancel_confirmed")]
    if text == AFFIRM:
        return [
            bot(
                "已为您取消腾讯视频VIP的自动续费，凭证号：TD202611263GTHC8。",
                "utter_cancelled",
                reference="TD202611263GTHC8",
            )
        ]
    if text == HUMAN:
        return [
            bot(
                "正在为您转接人工客服，工单号RG20261126YFZ7VY。",
                "utter_handoff",
                reference="RG20261126YFZ7VY",
            )
        ]
    if text == "再见":
        return [bot("好的，感谢您的使用，再见！", "utter_goodbye")]
    return []


def test_whole_call_by_keys_plays_prompts_and_collects_the_right_input() -> None:
    """Start → speech → phone keys → code keys → list key → 1: each reply plays and collects."""
    channel, rasa = IvrInput(), FakeRasa(cancel_flow)
    status, body = call(channel, rasa, {"call_id": "k1", "type": "start"})
    assert status == 200 and body["action"] == "collect" and body["step"] == "greeting"
    assert "退订助手" in body["play"]["text"] and body["play"]["ssml"].startswith("<speak>")
    assert "0" in body["play"]["text"] or "零" in body["play"]["text"]

    _, body = call(channel, rasa, {"call_id": "k1", "type": "speech", "text": "我要取消会员"})
    assert body["collect"]["dtmf"] == {"max_digits": 11, "terminator": "#"}
    _, body = call(channel, rasa, {"call_id": "k1", "type": "dtmf", "digits": "13800138000#"})
    assert body["step"] == "code" and body["collect"]["dtmf"]["max_digits"] == 6
    _, body = call(channel, rasa, {"call_id": "k1", "type": "dtmf", "digits": "123456#"})
    assert body["step"] == "identify_membership"
    assert "QQ音乐绿钻请按" in body["play"]["text"] and "腾讯视频VIP请按" in body["play"]["text"]
    _, body = call(channel, rasa, {"call_id": "k1", "type": "dtmf", "digits": "2"})
    assert body["step"] == "confirm"
    assert "确认取消请按一，返回请按二，转人工请按零" in body["play"]["text"]
    _, body = call(channel, rasa, {"call_id": "k1", "type": "dtmf", "digits": "1"})
    assert body["cancelled"] == ["TD202611263GTHC8"]

    texts = [m.text for m in rasa.received]
    assert texts == ["/greet", "我要取消会员", "13800138000", "123456", "2", AFFIRM]
    assert {m.sender_id for m in rasa.received} == {"ivr:k1"}
    assert {m.input_channel for m in rasa.received} == {"ivr"}


def test_zero_transfers_with_queue_and_ticket() -> None:
    """0 asks for a human; the bot's ticket goes to the platform with the agents' queue."""
    channel, rasa = IvrInput(agent_queue="vip_cancel"), FakeRasa(cancel_flow)
    call(channel, rasa, {"call_id": "h1", "type": "speech", "text": "我要取消会员"})
    status, body = call(channel, rasa, {"call_id": "h1", "type": "dtmf", "digits": "0"})
    assert status == 200 and body["action"] == "transfer"
    assert body["transfer"] == {"queue": "vip_cancel", "ticket": "RG20261126YFZ7VY"}
    assert rasa.received[-1].text == HUMAN


def test_goodbye_hangs_up_after_playing_it() -> None:
    """A closing reply tells the platform to play it and hang up."""
    channel, rasa = IvrInput(), FakeRasa(cancel_flow)
    status, body = call(channel, rasa, {"call_id": "g1", "type": "speech", "text": "再见"})
    assert (status, body["action"], body["step"]) == (200, "hangup", "ended")
    assert "再见" in body["play"]["text"]


@pytest.mark.parametrize(
    ("event", "reply"),
    [
        ({"type": "speech", "text": "确认取消", "confidence": 0.2}, templates.IVR_LOW_CONFIDENCE),
        ({"type": "speech", "text": ""}, templates.IVR_NO_INPUT),
        ({"type": "dtmf", "digits": "7"}, templates.IVR_BAD_KEY),
    ],
)
def test_unclear_input_is_asked_again_and_never_reaches_the_bot(event: dict, reply: str) -> None:
    """Low confidence, silence or a meaningless key at the confirmation: ask again, same step."""
    channel, rasa = IvrInput(min_confidence=0.5), FakeRasa(cancel_flow)
    for text in ("我要取消会员", "13800138000", "123456", "2"):
        call(channel, rasa, {"call_id": "u1", "type": "speech", "text": text})
    sent = len(rasa.received)
    status, body = call(channel, rasa, {"call_id": "u1", **event})
    assert status == 200 and body["messages"] == [reply]
    assert body["step"] == "confirm" and "请按一" in body["play"]["text"]
    assert len(rasa.received) == sent, "nothing was passed to the bot"


def test_confident_speech_and_unknown_confidence_pass() -> None:
    """At or above the threshold, or without a confidence, the words go to the bot."""
    channel, rasa = IvrInput(min_confidence=0.5), FakeRasa(cancel_flow)
    call(
        channel, rasa, {"call_id": "c", "type": "speech", "text": "我要取消会员", "confidence": 0.5}
    )
    call(channel, rasa, {"call_id": "c", "type": "speech", "text": "13800138000"})
    assert [m.text for m in rasa.received] == ["我要取消会员", "13800138000"]


def test_caller_number_is_sent_as_a_signed_caller_id_only_when_enabled() -> None:
    """prefill_caller_number: the ANI's mobile (prefix stripped) goes in metadata each turn,
    signed for this call's conversation as a `caller_id` (which proves nothing by itself)."""
    on, rasa_on = IvrInput(prefill_caller_number=True, key=KEY), FakeRasa(cancel_flow)
    call(on, rasa_on, {"call_id": "a1", "type": "start", "ani": "+86 138 0013 8000"})
    call(
        on,
        rasa_on,
        {"call_id": "a1", "type": "speech", "text": "我要取消会员", "ani": "008613800138000"},
    )
    assert all("identity" not in m.metadata for m in rasa_on.received)
    proofs = [
        verify(KEY, m.metadata[METADATA_KEY], conversation_id="ivr:a1") for m in rasa_on.received
    ]
    assert [(p.phone, p.source, p.proves_phone) for p in proofs] == [
        ("13800138000", "caller_id", False)
    ] * 2
    with pytest.raises(InvalidAssertion):  # another call's conversation cannot use it
        verify(KEY, rasa_on.received[0].metadata[METADATA_KEY], conversation_id="ivr:a9")
    with pytest.raises(InvalidAssertion):  # nor the same call id named over REST
        verify(KEY, rasa_on.received[0].metadata[METADATA_KEY], conversation_id="rest:ivr:a1")

    landline = FakeRasa(cancel_flow)
    call(on, landline, {"call_id": "a2", "type": "start", "ani": "01088886666"})
    assert METADATA_KEY not in landline.received[0].metadata

    off, rasa_off = IvrInput(prefill_caller_number=False, key=KEY), FakeRasa(cancel_flow)
    call(off, rasa_off, {"call_id": "a3", "type": "start", "ani": "13800138000"})
    assert METADATA_KEY not in rasa_off.received[0].metadata
    assert "identity" not in rasa_off.received[0].metadata
    assert rasa_off.received[0].metadata["ivr"] == {"call_id": "a3", "event": "start"}


def test_each_turn_carries_the_callers_source() -> None:
    """The per-source key is the caller's number (hashed), or the call when it is hidden."""
    channel, rasa = IvrInput(key=KEY), FakeRasa(cancel_flow)
    call(channel, rasa, {"call_id": "s1", "type": "start", "ani": "13800138000"})
    call(channel, rasa, {"call_id": "s2", "type": "start", "ani": "+8613800138000"})
    call(channel, rasa, {"call_id": "s3", "type": "start"})
    call(channel, rasa, {"call_id": "s4", "type": "start"})
    sources = [m.metadata[CLIENT_KEY] for m in rasa.received]
    assert sources[0] == sources[1], "one caller, one source"
    assert len(set(sources)) == 3, "hidden numbers are not lumped together"
    assert all(len(s) == 24 and "13800138000" not in s for s in sources)


def test_hang_up_restarts_the_conversation_and_reports_the_step() -> None:
    """A hang-up sends /restart (no cancellation) and acknowledges with the step it ended at."""
    channel, rasa = IvrInput(), FakeRasa(cancel_flow)
    call(channel, rasa, {"call_id": "x1", "type": "speech", "text": "我要取消会员"})
    call(channel, rasa, {"call_id": "x1", "type": "speech", "text": "13800138000"})
    status, body = call(channel, rasa, {"call_id": "x1", "type": "hangup"})
    assert (status, body) == (
        200,
        {"call_id": "x1", "action": "hangup", "ended": True, "step": "code"},
    )
    assert rasa.received[-1].text == "/restart"


def test_bot_failure_is_a_spoken_busy_message_not_a_500(caplog) -> None:
    """The action server down: 200 with 系统繁忙 and the human key, and the error logged."""
    channel, rasa = IvrInput(), FakeRasa(fail=True)
    with caplog.at_level(logging.ERROR):
        status, body = call(channel, rasa, {"call_id": "f1", "type": "speech", "text": "取消绿钻"})
    assert status == 200 and body["error"] == "unavailable"
    assert body["messages"] == [templates.IVR_UNAVAILABLE] and "系统繁忙" in body["play"]["text"]
    assert "handling speech failed" in caplog.text


def test_no_reply_from_the_bot_is_also_busy() -> None:
    """A turn the bot answered with silence is not played as silence."""
    channel, rasa = IvrInput(), FakeRasa(lambda text: [])
    _, body = call(channel, rasa, {"call_id": "s1", "type": "speech", "text": "嗯"})
    assert body["messages"] == [templates.IVR_UNAVAILABLE]


def test_memory_failure_is_busy_too(caplog) -> None:
    """The call's memory unreadable (e.g. Redis down): answered as busy, not raised."""

    class Broken(LocalMemory):
        def recall(self, conversation_id: str) -> Remembered:
            raise MemoryUnavailable("Redis is down")

    rasa = FakeRasa(cancel_flow)
    with caplog.at_level(logging.ERROR):
        status, body = call(IvrInput(memory=Broken()), rasa, {"call_id": "b1", "type": "start"})
    assert status == 200 and body["error"] == "unavailable"
    assert rasa.received == [] and "reading the call's memory failed" in caplog.text


def test_the_answer_is_played_even_when_it_cannot_be_kept(caplog) -> None:
    """What was done is said: a failed write of the memory is only logged."""

    class ReadOnly(LocalMemory):
        def remember(self, conversation_id: str, remembered: Remembered) -> None:
            raise MemoryUnavailable("Redis is read-only")

    with caplog.at_level(logging.ERROR):
        _, body = call(
            IvrInput(memory=ReadOnly()), FakeRasa(cancel_flow), {"call_id": "w1", "type": "start"}
        )
    assert "退订助手" in body["play"]["text"] and "error" not in body
    assert "keeping the call's memory failed" in caplog.text


def test_a_call_is_remembered_by_its_conversation_and_forgotten_at_hang_up() -> None:
    """Each call its own memory (one call's list is not another's); a hang-up forgets it."""
    memory = LocalMemory()
    channel, rasa = IvrInput(memory=memory), FakeRasa(cancel_flow)
    for text in ("我要取消会员", "13800138000", "123456"):
        call(channel, rasa, {"call_id": "m1", "type": "speech", "text": text})
    assert memory.recall("ivr:m1").answer.step == "which_membership"
    _, other = call(channel, rasa, {"call_id": "m2", "type": "dtmf", "digits": "2"})
    assert other["messages"] == [templates.IVR_BAD_KEY], "no list was offered on m2"
    call(channel, rasa, {"call_id": "m1", "type": "hangup"})
    assert memory.recall("ivr:m1") == Remembered()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-IVR-Token": ""}, {"Authorization": DEV_TOKEN}],
)
def test_wrong_or_missing_secret_is_401(headers: dict) -> None:
    """Without the shared secret: 401 JSON, and nothing reaches the bot."""
    rasa = FakeRasa(cancel_flow)
    status, body = call(IvrInput(), rasa, {"call_id": "z", "type": "start"}, headers=headers)
    assert status == 401 and body["error"] == "unauthorized" and body["message"]
    assert rasa.received == []


def test_secret_from_header_or_credentials() -> None:
    """X-IVR-Token works as well as Bearer; credentials and IVR_TOKEN set the secret."""
    rasa = FakeRasa(cancel_flow)
    channel = IvrInput.from_credentials({"token": "s3cret"})
    status, _ = call(channel, rasa, {"call_id": "t", "type": "start"}, {"x-ivr-token": "s3cret"})
    assert status == 200
    status, _ = call(channel, rasa, {"call_id": "t", "type": "start"})
    assert status == 401


def test_dev_token_is_used_with_a_warning(monkeypatch, caplog) -> None:
    """No secret configured: the development token, and a loud warning."""
    monkeypatch.delenv("IVR_TOKEN", raising=False)
    with caplog.at_level(logging.WARNING):
        channel = IvrInput.from_credentials(None)
    assert channel.token == DEV_TOKEN and "development token" in caplog.text
    monkeypatch.setenv("IVR_TOKEN", "from-env")
    assert IvrInput.from_credentials({}).token == "from-env"


def test_credentials_configure_the_channel() -> None:
    """prefill_caller_number, min_confidence and agent_queue come from credentials.yml."""
    channel = IvrInput.from_credentials(
        {"token": "t", "prefill_caller_number": True, "min_confidence": 0.7, "agent_queue": "q"}
    )
    assert (channel.prefill_caller_number, channel.min_confidence, channel.agent_queue) == (
        True,
        0.7,
        "q",
    )
    assert IvrInput.name() == "ivr"


_FIELD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "call_id": st.one_of(_FIELD, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
            "type": st.one_of(_FIELD, st.sampled_from(["start", "speech", "dtmf", "hangup"])),
            "text": _FIELD,
            "confidence": _FIELD,
            "digits": st.one_of(_FIELD, st.from_regex(r"[0-9*#]{0,12}", fullmatch=True)),
            "ani": _FIELD,
        },
    )
)
def test_any_request_gets_json_with_2xx_or_4xx(event: dict) -> None:
    """Whatever the platform sends, the channel answers 200 or a 4xx JSON error."""
    status, body = call(IvrInput(), FakeRasa(cancel_flow), event)
    assert status == 200 or 400 <= status < 500
    json.dumps(body)
    if status == 200:
        assert body["action"] in ("collect", "transfer", "hangup")
    else:
        assert body["error"] and body["message"]


def test_message_ids_survive_a_redacting_tracker_store() -> None:
    """Ids have no digits, so redaction (which hides digit runs) cannot change them."""
    from redaction.events import redact_event

    ids = {new_message_id() for _ in range(200)}
    assert len(ids) == 200 and all(i.isalpha() for i in ids)
    stored = redact_event({"event": "user", "text": "123456", "message_id": min(ids)})
    assert stored["message_id"] == min(ids)


def test_credentials_choose_where_calls_are_remembered(monkeypatch) -> None:
    """memory_url_env names a variable: set, the calls are kept in Redis; unset, in-process."""
    from channels.conversation_memory import RedisMemory

    monkeypatch.delenv("CHANNEL_MEMORY_URL", raising=False)
    credentials = {"token": "t", "memory_url_env": "CHANNEL_MEMORY_URL"}
    assert isinstance(IvrInput.from_credentials(credentials).memory, LocalMemory)
    monkeypatch.setenv("CHANNEL_MEMORY_URL", "redis://127.0.0.1:6379/0")
    assert isinstance(IvrInput.from_credentials(credentials).memory, RedisMemory)


def test_two_processes_share_a_call_through_redis(redis_prefix: str) -> None:
    """Two channels on one Redis (as two Rasa processes): the list read out by one is what a
    key pressed on the other picks from; the hang-up forgets the call for both."""
    from channels.conversation_memory import RedisMemory
    from tests.unit.redis_fixtures import REDIS_URL

    first = IvrInput(memory=RedisMemory(REDIS_URL, prefix=redis_prefix))
    second = IvrInput(memory=RedisMemory(REDIS_URL, prefix=redis_prefix))
    rasa = FakeRasa(cancel_flow)
    for text in ("我要取消会员", "13800138000", "123456"):
        call(first, rasa, {"call_id": "r2", "type": "speech", "text": text})
    _, body = call(second, rasa, {"call_id": "r2", "type": "dtmf", "digits": "2"})
    assert body["step"] == "confirm" and rasa.received[-1].text == "2"
    call(first, rasa, {"call_id": "r2", "type": "hangup"})
    assert second.memory.recall("ivr:r2") == Remembered()
