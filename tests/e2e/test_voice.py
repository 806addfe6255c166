"""The smart-speaker channel end to end: spoken-style input, n-best lists, speech out.

Runs the trained model with the real action server and store (the `bot` fixture) through
POST /webhooks/voice/webhook, with no VOICE_TOKEN set (development: every caller accepted).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from typing import List, Optional, Tuple
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.voice_numbers import spell_digits
from channels.voice_turns import sender_for, session_key
from core.store.references import is_valid_reference
from tests.e2e.bot import Bot, find_reference

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
LI = "13900139000"
ASCII_DIGIT = re.compile(r"[0-9]")
SAY_AS = re.compile(r'<say-as interpret-as="characters">([^<]*)</say-as>')


def post(bot: Bot, raw: bytes, headers: Optional[dict] = None) -> Tuple[int, dict]:
    """POSTs raw bytes to the voice webhook; (status, parsed JSON body)."""
    request = urllib.request.Request(
        f"{bot.url}/webhooks/voice/webhook",
        data=raw,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


def spoken(digits: str, groups: Tuple[int, ...]) -> str:
    """Digits as ASR writes them when read aloud in groups: 幺三八，零零幺三，八零零零."""
    out, start = [], 0
    for size in groups:
        out.append(spell_digits(digits[start : start + size]))
        start += size
    return "，".join(out)


class Speaker:
    """One user on one smart speaker; each skill session has its own id."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.user = f"voice-user-{uuid.uuid4().hex[:10]}"
        self.session = f"sess-{uuid.uuid4().int % 10**9:09d}"  # digits: what redaction hides
        self.log: List[Tuple[dict, dict]] = []

    def new_session(self) -> None:
        self.session = f"sess-{uuid.uuid4().int % 10**9:09d}"

    def request(self, text: Optional[str] = None, nbest=None, new: bool = False, **extra) -> dict:
        req = {"text": text} if text is not None else {}
        if nbest is not None:
            req["nbest"] = [{"text": t, "confidence": c} for t, c in nbest]
        req.update(extra)
        return {
            "version": "1.0",
            "session": {"id": self.session, "new": new},
            "user": {"id": self.user},
            "device": {"id": "speaker-livingroom"},
            "request": req,
        }

    def say(self, text: Optional[str] = None, nbest=None, new: bool = False, **extra) -> dict:
        """One turn; returns the `response` object after checking it is speakable."""
        body = self.request(text, nbest, new, **extra)
        status, answer = post(self.bot, json.dumps(body, ensure_ascii=False).encode("utf-8"))
        assert status == 200, answer
        self.log.append((body, answer))
        if os.environ.get("VOICE_EXAMPLES"):  # docs/channels/voice.md quotes these exchanges
            with open(os.environ["VOICE_EXAMPLES"], "a", encoding="utf-8") as out:
                out.write(json.dumps({"request": body, "response": answer}, ensure_ascii=False))
                out.write("\n")
        response = answer["response"]
        speech = response["output_speech"]
        assert not ASCII_DIGIT.search(speech["text"]), speech["text"]
        assert "*" not in speech["text"]
        assert ElementTree.fromstring(speech["ssml"]).tag == "speak"
        return response


def text_of(response: dict) -> str:
    return response["output_speech"]["text"]


def status_of(bot: Bot, phone: str, product: str) -> str:
    return next(s.status for s in bot.store.subscriptions(phone) if s.product_name == product)


def test_whole_cancellation_by_voice(fresh: Bot) -> None:
    """Launch → name it with fillers → phone and code read aloud → confirm → reference spelled."""
    speaker = Speaker(fresh)
    hello = speaker.say("", new=True)
    assert text_of(hello).startswith("您好，我是退订助手") and not hello["should_end_session"]

    asked = speaker.say("嗯，那个，帮我把腾讯视频的自动续费关了")
    assert "腾讯视频VIP" in text_of(asked) and "手机号码，十一位" in text_of(asked)
    assert asked["reprompt"]["text"] == "请告诉我开通会员的手机号码，十一位。"

    sent = speaker.say("我的手机号是" + spoken(ZHANG, (3, 4, 4)))
    assert "验证码已发送到尾号八零零零的号码，五分钟内有效。" in text_of(sent)
    assert "138****8000" in sent["display_text"]

    code = fresh.code_for(ZHANG)
    status = speaker.say("验证码是" + spoken(code, (3, 3)))
    said = text_of(status)
    assert "身份验证成功" in said and "每月二十五元" in said and "话费代扣" in said
    assert "第一，本期会员权益照常保留到" in said
    assert said.endswith("确认要取消腾讯视频VIP的自动续费吗？请说“确认取消”或者“先不取消”。")
    assert spell_digits(code) not in said and code not in status["display_text"]
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "active"

    done = speaker.say("嗯，确认取消")
    reference = find_reference([done["display_text"]])
    assert reference and is_valid_reference(reference)
    groups = SAY_AS.findall(done["output_speech"]["ssml"])
    assert groups[:5] == [
        reference[:2],
        reference[2:6],
        reference[6:10],
        reference[10:13],
        reference[13:],
    ]
    assert "T D，" in text_of(done) and "尾号八零零零的号码" in text_of(done)
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "cancelled"
    row = fresh.store.cancellation(reference)
    assert row.product_name == "腾讯视频VIP" and row.channel == "voice"
    assert "原因" in text_of(done)

    thanks = speaker.say("呃，不怎么看了")
    aloud = "，".join(
        " ".join(spell_digits(c) if c.isdigit() else c for c in g) for g in groups[:5]
    )
    found = speaker.say("查一下凭证号" + aloud)
    assert "腾讯视频VIP的自动续费已于" in text_of(found), "a reference read aloud is found"
    assert fresh.store.cancellation(reference).reason == "不怎么看了"
    assert "您可以说“还要取消”或者“不用了”" in text_of(thanks) or "其他会员" in text_of(thanks)
    bye = speaker.say("不用了，谢谢")
    assert bye["should_end_session"] is True and bye["reprompt"] is None
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"


def test_nbest_with_the_first_hypothesis_wrong(fresh: Bot) -> None:
    """Each time ASR's favourite is a mishearing, the reading the NLU understands is used."""
    speaker = Speaker(fresh)
    asked = speaker.say(
        "帮我取消藤训视频", nbest=[("帮我取消藤训视频", 0.82), ("帮我取消腾讯视频", 0.61)]
    )
    assert "取消腾讯视频VIP的自动续费" in text_of(asked)

    misheard_phone = "要三八零零要三八零零零"
    sent = speaker.say(
        misheard_phone,
        nbest=[(misheard_phone, 0.7), ("幺三八零零幺三八零零零", 0.55), ("幺三八零零", 0.2)],
    )
    assert "尾号八零零零" in text_of(sent)

    code = fresh.code_for(ZHANG)
    short = spell_digits(code[:5])
    status = speaker.say(
        "验证码" + short, nbest=[("验证码" + short, 0.9), ("验证码" + spell_digits(code), 0.4)]
    )
    assert "身份验证成功" in text_of(status) and "确认要取消腾讯视频VIP" in text_of(status)

    done = speaker.say("确认取消", nbest=[("确认取笑", 0.6), ("确认取消", 0.5)])
    reference = find_reference([done["display_text"]])
    assert reference and fresh.store.cancellation(reference).channel == "voice"


def test_choosing_from_a_spoken_list_after_a_wrong_code(fresh: Bot) -> None:
    """The list is read out as sentences; a wrong code counts down; 第一个 picks the first."""
    speaker = Speaker(fresh)
    speaker.say("我想取消自动续费")
    speaker.say(spoken(ZHANG, (3, 4, 4)))
    code = fresh.code_for(ZHANG)
    wrong = "000000" if code != "000000" else "111111"
    countdown = speaker.say("验证码" + spoken(wrong, (6,)))
    assert "验证码不正确，您还可以再试四次。" in text_of(countdown)
    listed = speaker.say("验证码" + spoken(code, (3, 3)))
    said = text_of(listed)
    assert "第一，" in said and "第二，" in said and "\n" not in said
    first = "QQ音乐绿钻" if said.index("QQ音乐绿钻") < said.index("腾讯视频VIP") else "腾讯视频VIP"
    assert said.endswith(f"请问要取消哪一个？您可以说“第一个”，或者直接说“{first}”。")
    confirm = speaker.say("嗯，第一个吧")
    assert f"确认要取消{first}" in text_of(confirm)
    done = speaker.say("确认")
    assert find_reference([done["display_text"]])
    assert status_of(fresh, ZHANG, first) == "cancelled"


def test_silence_is_reprompted_once_then_the_session_ends_politely(fresh: Bot) -> None:
    """No input: the pending question again; twice: goodbye with the other ways to cancel."""
    speaker = Speaker(fresh)
    speaker.say("取消QQ音乐绿钻")
    again = speaker.say("")
    assert text_of(again) == "抱歉，我没有听清。请告诉我开通会员的手机号码，十一位。"
    assert not again["should_end_session"]
    bye = speaker.say("")
    assert bye["should_end_session"] is True
    assert "营业厅APP" in text_of(bye) and "幺零零八六" in text_of(bye) and "再见" in text_of(bye)
    assert "10086" in bye["display_text"]
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"

    speaker.new_session()  # the count belongs to one skill session
    assert not speaker.say("")["should_end_session"]


def test_a_bare_interjection_never_confirms(fresh: Bot) -> None:
    """At 确认要取消吗, "啊？" (huh?) is treated as unheard, and nothing is cancelled."""
    speaker = Speaker(fresh)
    speaker.say("取消QQ音乐绿钻")
    speaker.say(spoken(ZHANG, (3, 4, 4)))
    speaker.say(spoken(fresh.code_for(ZHANG), (6,)))
    huh = speaker.say("啊？")
    assert text_of(huh).startswith("抱歉，我没有听清。确认要取消QQ音乐绿钻的自动续费吗？")
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"


def test_back_in_a_new_skill_session_the_flow_continues(fresh: Bot) -> None:
    """The user left to find the SMS; opening the skill again resumes at the code."""
    speaker = Speaker(fresh)
    speaker.say("帮我退订爱奇艺")
    speaker.say(spoken(LI, (3, 4, 4)))
    speaker.new_session()
    back = speaker.say("", new=True)
    assert text_of(back) == "欢迎回来，我们接着刚才的办理。请告诉我短信中的六位验证码。"
    status = speaker.say("验证码" + spoken(fresh.code_for(LI), (2, 2, 2)))
    assert "确认要取消爱奇艺黄金VIP" in text_of(status)
    assert "每季度五十八元" in text_of(status) and "支付宝" in text_of(status)


def _fallback_phrase(bot: Bot) -> Optional[str]:
    """A phrase this model does not understand (asked of the model, not assumed)."""
    # Words in a script the model never saw give it no features at all: nlu_fallback.
    for text in ("안녕하세요 반갑습니다", "Здравствуйте как дела", "مرحبا كيف حالك", "这个嘛"):
        request = urllib.request.Request(
            bot.api_url("/model/parse"),
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if json.loads(response.read())["intent"]["name"] == "nlu_fallback":
                return text
    return None


def test_two_misunderstandings_end_the_session(fresh: Bot) -> None:
    """Not understood twice in a row: a rephrase request, then the polite goodbye."""
    phrase = _fallback_phrase(fresh)
    if phrase is None:
        pytest.skip("the model understands every candidate phrase")
    speaker = Speaker(fresh)
    speaker.say("", new=True)
    first = speaker.say(phrase)
    assert not first["should_end_session"]
    second = speaker.say(phrase)
    assert second["should_end_session"] and "幺零零八六" in text_of(second)


def test_handoff_by_voice_is_recorded_as_voice(fresh: Bot) -> None:
    """转人工: the ticket's channel is voice and the session closes."""
    speaker = Speaker(fresh)
    reply = speaker.say("我要转人工")
    ticket = re.search(r"RG\d{8}[0-9A-Z]{6}", reply["display_text"])
    assert ticket and reply["should_end_session"] is True
    assert fresh.store.handoff_ticket(ticket.group()).channel == "voice"
    assert "两小时内回电" in text_of(reply)


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_utf8"),
        (b'{"user": {"id": "u"}, "request": {}}', 400, "missing_session"),
        (
            b'{"session": {"id": "s"}, "user": {"id": "u"}, "request": {"text": 5}}',
            400,
            "invalid_text",
        ),
        (
            b'{"session": {"id": "s"}, "user": {"id": "u"},'
            b' "request": {"nbest": [{"text": "a", "confidence": 7}]}}',
            400,
            "invalid_nbest",
        ),
        (
            b'{"session": {"id": "s"}, "user": {"id": "u"}, "request": {"type": "x"}}',
            400,
            "invalid_type",
        ),
        (b'{"x": "' + b"a" * 20000 + b'"}', 413, "body_too_large"),
    ],
)
def test_malformed_requests_get_json_errors(bot: Bot, raw: bytes, status: int, code: str) -> None:
    """Each malformed request: its 4xx and a Chinese message."""
    got_status, got = post(bot, raw)
    assert (got_status, got["error"]) == (status, code)
    assert got["message"]


_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.fixed_dictionaries(
        {"session": st.one_of(_value, st.fixed_dictionaries({"id": _value, "new": _value}))},
        optional={
            "user": st.one_of(_value, st.fixed_dictionaries({"id": _value})),
            "request": st.one_of(
                _value,
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["end", "no_input", "text", "launch", "?"])},
                    optional={"text": _value, "nbest": _value},
                ),
            ),
        },
    )
)
def test_any_shape_gets_json_and_never_a_5xx(bot: Bot, data: dict) -> None:
    """Random request shapes: 2xx or 4xx, always JSON."""
    status, body = post(bot, json.dumps(data).encode("utf-8"))
    assert status < 500 and isinstance(body, dict)
    assert ("response" in body) if status == 200 else ("error" in body and body["message"])


def test_fast_repeated_requests_are_rate_limited(bot: Bot) -> None:
    """More than 20 requests in 10 s from one user: 429 JSON with Retry-After."""
    speaker = Speaker(bot)
    raw = json.dumps(speaker.request(type="end")).encode()
    statuses = [post(bot, raw)[0] for _ in range(22)]
    assert statuses.count(429) >= 1 and statuses[0] == 200


def test_the_conversation_id_is_the_hashed_user(fresh: Bot) -> None:
    """Rasa's tracker is keyed by the hashed user id, not the platform session."""
    speaker = Speaker(fresh)
    speaker.say("你好")
    with urllib.request.urlopen(
        fresh.api_url(f"/conversations/{sender_for(speaker.user)}/tracker"), timeout=30
    ) as response:
        tracker = json.loads(response.read())
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "你好" and users[-1]["input_channel"] == "voice"
    assert users[-1]["metadata"]["voice"]["session"] == session_key(speaker.session)
