"""The intent words put back from their sound-alikes: 取销 → 取消, 续废 → 续费, 退定 → 退订."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import load_catalog
from nlu.sound_alikes import DOMAIN_WORDS, SoundAlikeWordRestorer, restore_words, word_index

INDEX = word_index()


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("我要取销腾讯视频", "我要取消腾讯视频"),
        ("帮我去消", "帮我取消"),
        ("取宵包月", "取消包月"),
        ("续废太贵了", "续费太贵了"),
        ("需费关掉", "续费关掉"),
        ("退定爱奇艺", "退订爱奇艺"),
        ("腿订", "退订"),
        ("包悦的会员", "包月的会员"),
        ("自动徐费", "自动续费"),
        ("字动续费关了", "自动续费关了"),  # zi dong: three or more characters need no shared one
        ("口费了", "扣费了"),
        ("关必自动续费", "关闭自动续费"),
        ("开了哪些会园", "开了哪些会员"),
        ("我要退宽", "我要退款"),
        ("转人攻", "转人工"),
        ("帮我茶询一下", "帮我查询一下"),
    ],
)
def test_a_sound_alike_of_an_intent_word_becomes_the_word(heard, meant) -> None:
    """The window that sounds like a listed word is rewritten to it, nothing else changes."""
    assert restore_words(heard, INDEX) == meant


@pytest.mark.parametrize(
    "text",
    [
        "我去笑了",  # qu xiao, but no character of 取消
        "别取笑我",  # a common word of its own
        "为了节约点钱",  # 解约 is not listed: 节约 is a word of its own
        "还要重新验证吗",  # 验证码 is not listed
        "克服困难",  # a word of its own
        "13800138000",
        "",
    ],
)
def test_other_words_stay(text) -> None:
    """Common words that merely sound alike, and numbers, are left as written."""
    assert restore_words(text, INDEX) == text


def test_catalog_names_are_never_rewritten() -> None:
    """No surface form of a membership contains a window the rewrite would change."""
    changed = [
        form
        for product in load_catalog().products
        for form in product.surface_forms
        if restore_words(form, INDEX) != form
    ]
    assert not changed


def test_every_listed_word_stays_itself() -> None:
    """A listed word is never rewritten into another listed word."""
    assert all(restore_words(word, INDEX) == word for word in DOMAIN_WORDS)


def test_training_data_is_rewritten_and_entity_offsets_still_point_at_the_name() -> None:
    """The same rewrite on training examples, length kept, so annotated spans stay exact."""
    text = "帮我去消米咕的自动需费"
    start = text.index("米咕")
    example = Message(
        data={
            "text": text,
            "intent": "cancel_subscription",
            "entities": [
                {"entity": "service", "start": start, "end": start + 2, "value": "咪咕视频钻石会员"}
            ],
        }
    )
    SoundAlikeWordRestorer().process_training_data(TrainingData([example]))
    assert example.get("text") == "帮我取消米咕的自动续费"
    (entity,) = example.get("entities")
    assert example.get("text")[entity["start"] : entity["end"]] == "米咕"


def test_messages_are_rewritten() -> None:
    """An incoming message is read as its intent words."""
    message = Message(data={"text": "取销包悦"})
    SoundAlikeWordRestorer().process([message])
    assert message.get("text") == "取消包月"
