"""Pinyin typed in Latin letters is read as the Chinese it spells (nlu/pinyin_input.py), and
nothing else written in Latin letters is touched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.normalizer import ChineseTextNormalizer
from nlu.pinyin import latin_syllables
from nlu.pinyin_input import read_typed_pinyin


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("quxiao huiyuan", "取消会员"),
        ("wo yao quxiao zidong xufei", "我要取消自动续费"),
        ("bang wo quxiao", "帮我取消"),
        ("quxiao aiqiyi", "取消爱奇艺"),
        ("tuiding youku huiyuan", "退订优酷会员"),
        ("wei shenme kouqian", "为什么扣钱"),
        ("chaxun wo kaile sha", "查询我开了啥"),
        ("zhuan rengong", "转人工"),
        ("hao de", "好的"),  # the answers at a confirmation
        ("shi de", "是的"),
        ("queren quxiao", "确认取消"),
        ("bu yong le", "不用了"),
        ("QuXiao HuiYuan", "取消会员"),
        ("kuai-dian quxiao", "快点取消"),
        ("我要quxiao", "我要取消"),
        ("quxiao vip", "取消 vip"),  # the catalog's Latin words stay, the pinyin is read
        ("TD20261025 chaxun", "TD20261025 查询"),
        ("shoujihao 13800138000", "手机号 13800138000"),
    ],
)
def test_typed_pinyin_is_read_as_characters(typed: str, read: str) -> None:
    """The most probable words, the domain's and the catalog's first."""
    assert read_typed_pinyin(typed)[0] == read


@pytest.mark.parametrize(
    "text",
    [
        "what memberships do I have",
        "which memberships are active",  # are is a + re, but memberships is no pinyin
        "can you help me",
        "human",  # hu + man, but no word of two syllables
        "you are",
        "are you sure",
        "hello",
        "ok",
        "TD20261025RE95BC",
        "check下我的退订单",
        "取消腾讯视频会员",
        "",
    ],
)
def test_english_codes_and_chinese_stay_as_they_are(text: str) -> None:
    """Anything but a pinyin message comes back unchanged, with the identity map."""
    assert read_typed_pinyin(text) == (text, list(range(len(text) + 1)))


def test_syllables_read_fewest_first_and_only_whole_words() -> None:
    """xian is one syllable; English, codes and lone letters are no pinyin."""
    assert latin_syllables("xian") == ("xian",)
    assert latin_syllables("zhuangtai") == ("zhuang", "tai")
    assert latin_syllables("lv") == ("lv",)
    for word in ("memberships", "vip", "check", "td", "a", "hm", "TD2026", "取消"):
        assert latin_syllables(word) == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["quxiao", "huiyuan", "wo", "yao", "vip", "取消", "会员", " ", "TD",
                         "13800138000", "kouqian", "le", "hello", "，", "aiqiyi", "'"]),
        max_size=8,
    )
)  # fmt: skip
def test_the_map_says_where_every_character_went(parts) -> None:
    """Never longer; the map is monotonic, starts at 0, ends at the new length; the Han and
    digits of the original keep their places."""
    text = "".join(parts)
    read, mapping = read_typed_pinyin(text)
    assert len(read) <= len(text) and len(mapping) == len(text) + 1
    assert mapping[0] == 0 and mapping[-1] == len(read)
    assert all(a <= b for a, b in zip(mapping, mapping[1:], strict=False))
    for index, char in enumerate(text):
        if not char.isascii() or char.isdigit():
            assert read[mapping[index]] == char


def _normaliser() -> ChineseTextNormalizer:
    context = ExecutionContext(GraphSchema({}), node_name="normaliser")
    return ChineseTextNormalizer.create({}, LocalModelStorage("/tmp"), Resource("n"), context)


def test_the_normaliser_reads_pinyin_in_messages_and_moves_annotated_entities() -> None:
    """A message is read as characters; a training example's entity moves with its word."""
    normaliser = _normaliser()
    message = Message(data={TEXT: "wo yao quxiao aiqiyi"})
    normaliser.process([message])
    assert message.get(TEXT) == "我要取消爱奇艺"
    entity = {"entity": "service", "start": 14, "end": 20, "value": "爱奇艺黄金VIP"}
    example = Message(data={TEXT: "wo yao quxiao aiqiyi", "intent": "cancel_subscription"})
    example.set(ENTITIES, [entity])
    normaliser.process_training_data(TrainingData([example]))
    assert example.get(TEXT) == "我要取消爱奇艺"
    (moved,) = example.get(ENTITIES)
    assert example.get(TEXT)[moved["start"] : moved["end"]] == "爱奇艺"
