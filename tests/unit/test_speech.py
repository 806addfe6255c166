"""Speech rendering: what a speaker or an IVR says for each kind of bot message."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.speech import Speech, render_reprompt, render_speech, speech_from_text
from channels.voice_numbers import cardinal, money_words, spell_digits

ROOT = Path(__file__).resolve().parents[2]
ASCII_DIGIT = re.compile(r"[0-9]")
SAY_AS = re.compile(r'<say-as interpret-as="characters">([^<]*)</say-as>')


def say(text: str, buttons=None) -> str:
    return render_speech([{"text": text, "buttons": buttons or []}]).text


def spelled_groups(ssml: str) -> list:
    return SAY_AS.findall(ssml)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "零"),
        (4, "四"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (248, "二百四十八"),
        (1005, "一千零五"),
        (10010, "一万零一十"),
        (15000, "一万五千"),
        (100000, "十万"),
    ],
)
def test_cardinals(number: int, words: str) -> None:
    """Whole numbers as they are said."""
    assert cardinal(number) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("25", "二十五元"),
        ("25.00", "二十五元"),
        ("2", "两元"),
        ("25.5", "二十五元五角"),
        ("25.50", "二十五元五角"),
        ("25.05", "二十五元零五分"),
        ("25.55", "二十五元五角五分"),
        ("0.05", "五分"),
        ("248", "二百四十八元"),
    ],
)
def test_money_words(amount: str, words: str) -> None:
    """Yuan, jiao and fen as a cashier says them."""
    assert money_words(amount) == words


def test_digits_use_yao_for_one_except_in_years() -> None:
    """Numbers read digit by digit say 幺 for one, as operators do; years say 一."""
    assert spell_digits("10086") == "幺零零八六"
    assert spell_digits("2021", one="一") == "二零二一"


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("¥25/月", "每月二十五元"),
        ("¥58/季", "每季度五十八元"),
        ("¥248/年", "每年二百四十八元"),
        ("扣了25.00元", "扣了二十五元"),
        ("¥15.50", "十五元五角"),
        ("12月4日", "十二月四日"),
        ("2026-12-04", "二零二六年十二月四日"),
        ("2025年10月3日", "二零二五年十月三日"),
        ("请在18:05之后再试", "请在十八点零五分之后再试"),
        ("请在9:00之后再试", "请在九点整之后再试"),
        ("2小时内回电", "两小时内回电"),
        ("3个工作日内", "三个工作日内"),
        ("12月2日", "十二月二日"),
        ("近90天", "近九十天"),
        ("拨打12315投诉", "拨打幺二三幺五投诉"),
        ("《消费者权益保护法》第九条", "消费者权益保护法第九条"),
    ],
)
def test_numbers_money_dates_are_words(written: str, spoken: str) -> None:
    """Money, dates, times and counts are read naturally."""
    assert spoken in say(written)


def test_reference_is_spelled_in_groups() -> None:
    """A reference number: prefix, year, month-day and the code in threes, one by one."""
    speech = render_speech(
        [{"text": "已为您取消腾讯视频VIP的自动续费，凭证号：TD20261126ZH6F5W。"}]
    )
    assert "T D，二零二六，幺幺二六，Z H 六，F 五 W" in speech.text
    assert spelled_groups(speech.ssml) == ["TD", "2026", "1126", "ZH6", "F5W"]
    assert '<break time="150ms"/>' in speech.ssml


def test_masked_phone_is_read_as_its_last_four_digits() -> None:
    """138****8000: the visible tail, said digit by digit; never the stars."""
    speech = render_speech([{"text": "验证码已发送到138****8000，5分钟内有效。"}])
    assert speech.text == "验证码已发送到尾号八零零零的号码，五分钟内有效。"
    assert spelled_groups(speech.ssml) == ["8000"]
    assert "*" not in speech.text + speech.ssml
    listed = say("您的号码138****8000下开通了以下会员：")
    assert listed.startswith("您的尾号八零零零的号码下")


def test_a_full_phone_is_spelled_three_four_four() -> None:
    """The example number in the invalid-phone answer."""
    speech = render_speech([{"text": "比如13800138000。请再说一遍。"}])
    assert "幺三八，零零幺三，八零零零" in speech.text
    assert spelled_groups(speech.ssml) == ["138", "0013", "8000"]


def test_numbered_membership_list_becomes_sentences_with_a_spoken_choice() -> None:
    """The list is read item by item; the user is told to say 第一个 or the name."""
    text = (
        "您的号码138****8000下开通了以下会员：\n"
        "1. QQ音乐绿钻（连续包月 ¥15/月，话费代扣，下次扣费11月28日）\n"
        "2. 腾讯视频VIP（连续包月 ¥25/月，Apple App Store，下次扣费12月5日）\n"
        "请问要取消哪一个？可以回复序号或会员名称。"
    )
    spoken = say(text)
    assert "第一，QQ音乐绿钻，连续包月，每月十五元，话费代扣，下次扣费十一月二十八日。" in spoken
    assert "第二，腾讯视频VIP，连续包月，每月二十五元，Apple App Store" in spoken
    assert spoken.endswith("请问要取消哪一个？您可以说“第一个”，或者直接说“QQ音乐绿钻”。")
    assert "回复" not in spoken and "（" not in spoken and "\n" not in spoken


def test_reply_instructions_become_say_instructions() -> None:
    """请回复“确认取消” is a screen instruction; spoken it is 请说“确认取消”."""
    spoken = say("确认要取消腾讯视频VIP的自动续费吗？请回复“确认取消”或“先不取消”。")
    assert spoken == "确认要取消腾讯视频VIP的自动续费吗？请说“确认取消”或者“先不取消”。"


def test_buttons_are_said_as_options_once() -> None:
    """Buttons not already named in the text are offered aloud; named ones are not repeated."""
    buttons = [{"title": "还要取消", "payload": "/affirm"}, {"title": "不用了", "payload": "/deny"}]
    assert say("还需要取消其他会员吗？", buttons) == (
        "还需要取消其他会员吗？您可以说“还要取消”或者“不用了”。"
    )
    three = [{"title": t, "payload": "/x"} for t in ("第一个", "腾讯视频", "都不要")]
    assert say("选哪个？", three).endswith("您可以说“第一个”、“腾讯视频”或者“都不要”。")
    named = [{"title": "确认取消", "payload": "/affirm"}, {"title": "先不取消", "payload": "/deny"}]
    assert say("请回复“确认取消”或“先不取消”。", named).count("确认取消") == 1


def test_an_answers_options_are_said_like_buttons() -> None:
    """An Answer's message carries `options`; titles are said without the number shown."""
    options = [
        {"title": "1. 腾讯视频VIP", "payload": "1"},
        {"title": "2. QQ音乐绿钻", "payload": "2"},
    ]
    spoken = render_speech([{"text": "要取消哪一个？", "options": options}]).text
    assert spoken == "要取消哪一个？您可以说“腾讯视频VIP”或者“QQ音乐绿钻”。"
    untitled = [{"title": "", "payload": "/affirm"}, {"title": "", "payload": "/deny"}]
    assert render_speech([{"text": "还有什么可以帮您？", "options": untitled}]).text == (
        "还有什么可以帮您？"
    )


def test_arrows_and_slashes_become_pauses_and_or() -> None:
    """Navigation steps are read as a sequence, A/B as A或B."""
    spoken = say("支付宝：我的 → 设置 → 支付设置 → 免密支付/自动扣款 → 关闭服务")
    assert spoken == "支付宝：我的，设置，支付设置，免密支付或自动扣款，关闭服务。"


def test_consequence_list_is_short_sentences() -> None:
    """An inline numbered list becomes 第一… 第二… with one sentence each."""
    spoken = say("取消自动续费后：1. 本期会员权益照常保留到12月6日；2. 之后不再自动扣费；")
    assert (
        spoken == "取消自动续费后：第一，本期会员权益照常保留到十二月六日。第二，之后不再自动扣费。"
    )


def test_several_messages_are_one_speech_with_pauses() -> None:
    """Messages follow each other with a pause in SSML; non-text messages are skipped."""
    speech = render_speech(
        [{"text": "身份验证成功。"}, {"image": "x.png"}, {"text": "请告诉我短信中的6位验证码。"}]
    )
    assert speech.text == "身份验证成功。请告诉我短信中的六位验证码。"
    assert speech.ssml == (
        '<speak>身份验证成功。<break time="300ms"/>请告诉我短信中的六位验证码。</speak>'
    )
    assert render_speech([]) == Speech("", "<speak></speak>")


def test_reprompt_is_the_last_question_and_its_options() -> None:
    """The reprompt repeats only the question, not the whole answer."""
    messages = [
        {"text": "腾讯视频VIP（连续包月，¥25/月，话费代扣）：当前权益有效期至12月6日。"},
        {
            "text": "确认要取消腾讯视频VIP的自动续费吗？请回复“确认取消”或“先不取消”。",
            "buttons": [{"title": "确认取消", "payload": "/affirm"}],
        },
    ]
    again = render_reprompt(messages)
    assert again.text == "确认要取消腾讯视频VIP的自动续费吗？请说“确认取消”或者“先不取消”。"
    assert render_reprompt(
        [{"text": "身份验证成功。"}, {"text": "请告诉我短信中的6位验证码。"}]
    ).text == ("请告诉我短信中的六位验证码。")
    assert render_reprompt([]) is None


def test_reprompt_without_a_question_keeps_spelled_items() -> None:
    """The last sentence, cut to its request, with its reference still spelled."""
    again = render_reprompt(
        [
            {
                "text": "凭证号TD20261126958311：已于12月1日取消，"
                "为了安全，请记下凭证号TD20261126958311。"
            }
        ]
    )
    assert again.text == "请记下凭证号T D，二零二六，幺幺二六，九五八，三幺幺。"
    assert SAY_AS.findall(again.ssml) == ["TD", "2026", "1126", "958", "311"]


def test_then_joins_two_speeches() -> None:
    """A channel's own sentence before the bot's words."""
    joined = speech_from_text("抱歉，我没有听清。").then(speech_from_text("请说“确认取消”。"))
    assert joined.text == "抱歉，我没有听清。请说“确认取消”。"
    ElementTree.fromstring(joined.ssml)
    assert speech_from_text("").then(joined) == joined


def _domain_texts() -> list:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return [(name, variants[0]) for name, variants in domain["responses"].items()]


@pytest.mark.parametrize(("name", "message"), _domain_texts(), ids=lambda v: str(v)[:40])
def test_every_domain_response_is_speakable(name: str, message: dict) -> None:
    """Every response the bot has: no digits, no screen marks, valid SSML."""
    filled = re.sub(r"\{[a-z_]+\}", "腾讯视频VIP", message["text"])
    speech = render_speech([{**message, "text": filled}])
    assert speech.text and not ASCII_DIGIT.search(speech.text)
    assert not re.search(r"[*→/\n（）《》]|回复“", speech.text)
    ElementTree.fromstring(speech.ssml)


_messages = st.lists(
    st.fixed_dictionaries(
        {"text": st.one_of(st.none(), st.text(max_size=200))},
        optional={
            "buttons": st.lists(
                st.fixed_dictionaries({"title": st.text(max_size=20), "payload": st.text()}),
                max_size=4,
            )
        },
    ),
    max_size=4,
)
_botlike = st.lists(
    st.sampled_from(
        [
            "¥25/月",
            "25.5元",
            "12月4日",
            "2026-12-04",
            "18:30",
            "138****8000",
            "13800138000",
            "TD20261126ZH6F5W",
            "1. ",
            "\n2. ",
            "（",
            "）",
            "→",
            "/",
            "“确认取消”",
            "回复",
            "*",
            "<b>",
            "&",
            "凭证号",
            "10086",
            "0",
            "7天",
            " ",
            "；",
            "：",
            "。",
            "？",
            "\ue000",
        ]  # fmt: skip
    ).map("".join),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(_messages)
def test_rendering_never_fails_on_any_message(messages: list) -> None:
    """Whatever comes in: no exception, no star, no ASCII digit outside say-as, valid XML."""
    _check(render_speech(messages))
    again = render_reprompt(messages)
    if again is not None:
        _check(again)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(), max_size=5), max_size=12), _botlike)
def test_rendering_bot_like_fragments(parts: list, fragments: list) -> None:
    """Mixtures of the bot's formats with arbitrary characters keep the same guarantees."""
    _check(render_speech([{"text": "".join(parts) + "".join(fragments)} for _ in range(1)]))
    _check(render_speech([{"text": "".join(fragments)}]))
    for messages in (
        [{"text": "".join(parts) + "".join(fragments)}],
        [{"text": "".join(fragments)}],
    ):
        again = render_reprompt(messages)
        if again is not None:
            _check(again)


def _check(speech: Speech) -> None:
    assert "*" not in speech.text
    assert not ASCII_DIGIT.search(speech.text)
    root = ElementTree.fromstring(speech.ssml)
    assert root.tag == "speak"
    outside = SAY_AS.sub("", speech.ssml)
    assert not ASCII_DIGIT.search(re.sub(r'<break time="\d+ms"/>', "", outside))
    assert "*" not in outside
