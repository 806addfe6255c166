"""The benchmark's perturbations: seeded, and entity annotations stay valid."""

from __future__ import annotations

import random
import re

import pytest

from bench.perturb import (
    KINDS,
    Entity,
    Example,
    homophones,
    no_punctuation,
    perturb,
    perturb_all,
    spoken_digits,
    traditional,
    typos,
)
from nlu.normalize import normalize

TABLE = {"的": ("地", "得"), "吗": ("马", "码"), "费": ("废", "飞"), "续": ("序",), "我": ("窝",)}


def _example(text: str, intent: str, *spans: tuple) -> Example:
    """An example whose entities are given as (surface, entity, value)."""
    entities = []
    for surface, entity, value in spans:
        start = text.index(surface)
        entities.append(Entity(start, start + len(surface), entity, value))
    return Example(text, intent, tuple(sorted(entities, key=lambda e: e.start)))


EXAMPLES = [
    _example("帮我把爱奇艺的自动续费关了，谢谢！", "cancel_subscription",
             ("爱奇艺", "service", "爱奇艺黄金VIP")),
    _example("手机号 13800138000 验证码 482913 吗？", "inform",
             ("13800138000", "phone_number", "13800138000"),
             ("482913", "verification_code", "482913")),
    _example("查一下单号TD20261124K7M2Q5 好了吗", "query_cancellation",
             ("TD20261124K7M2Q5", "reference_number", "TD20261124K7M2Q5")),
    _example("号码是１３９００１３９０００ 退订绿钻的续费", "cancel_subscription",
             ("１３９００１３９０００", "phone_number", "13900139000"),
             ("绿钻", "service", "QQ音乐绿钻")),
    _example("unsubscribe QQ音乐 pls", "cancel_subscription", ("QQ音乐", "service", "QQ音乐绿钻")),
    _example("今天天气怎么样", "out_of_scope"),
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_result(kind: str) -> None:
    """A perturbation depends only on (seed, kind, index)."""
    first = perturb_all(EXAMPLES, kind, seed=7, table=TABLE)
    again = perturb_all(EXAMPLES, kind, seed=7, table=TABLE)
    assert first == again
    assert [perturb(e, kind, 7, i, TABLE) for i, e in enumerate(EXAMPLES)] == [
        perturb(e, kind, 7, i, TABLE) for i, e in enumerate(EXAMPLES)
    ]


def test_other_seeds_give_other_typos() -> None:
    """Seeds matter: some seed changes where the typo falls."""
    results = {perturb(EXAMPLES[0], "typos", seed, 0).text for seed in range(10)}
    assert len(results) > 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_entities_keep_values_and_spans(kind: str, seed: int) -> None:
    """Entity names and values never change; spans point at the (possibly rewritten) surface."""
    for index, original in enumerate(EXAMPLES):
        changed = perturb(original, kind, seed, index, TABLE)
        if changed is None:
            continue
        assert changed.intent == original.intent
        assert changed.text != original.text
        assert len(changed.entities) == len(original.entities)
        for old, new in zip(original.entities, changed.entities, strict=True):
            assert (new.entity, new.value) == (old.entity, old.value)
            before, after = original.text[old.start : old.end], changed.text[new.start : new.end]
            if kind in ("homophones", "typos", "no_punctuation", "verb_homophones"):
                assert after == before
            elif kind in ("traditional", "name_homophones", "asr_confusions"):
                assert len(after) == len(before)
                assert kind == "traditional" or re.sub(r"[\u4e00-\u9fff]", "", after) == (
                    re.sub(r"[\u4e00-\u9fff]", "", before)
                )  # the sound kinds rewrite Chinese characters only
            elif new.entity in ("phone_number", "verification_code"):
                # The project's normaliser reads the spoken digits back to the value.
                assert re.sub(r"\D", "", normalize(after)) == new.value
                assert not re.search(r"[0-9０-９]", after)


def test_homophones_replace_only_outside_entities_from_the_table() -> None:
    """Every changed character is a listed homophone of the original one."""
    original = EXAMPLES[0]
    changed = homophones(original, random.Random(1), TABLE)
    assert changed is not None and len(changed.text) == len(original.text)
    diffs = [(a, b) for a, b in zip(original.text, changed.text, strict=True) if a != b]
    assert diffs and all(b in TABLE[a] for a, b in diffs)
    assert homophones(EXAMPLES[5], random.Random(1), {}) is None


def test_typos_change_one_character() -> None:
    """A typo changes the length by at most one and keeps the entity text."""
    for seed in range(20):
        changed = typos(EXAMPLES[1], random.Random(seed))
        assert changed is not None
        assert abs(len(changed.text) - len(EXAMPLES[1].text)) <= 1
        assert "13800138000" in changed.text and "482913" in changed.text


def test_traditional_rewrites_entities_too() -> None:
    """The service name is written in Traditional characters; its value stays canonical."""
    changed = traditional(EXAMPLES[0])
    entity = changed.entities[0]
    assert changed.text[entity.start : entity.end] == "愛奇藝"
    assert entity.value == "爱奇艺黄金VIP"
    assert "續費" in changed.text


def test_traditional_handles_a_length_change() -> None:
    """A converter that changes lengths still leaves spans on the entity."""
    changed = traditional(EXAMPLES[0], convert=lambda s: s.replace("帮", "幫幫"))
    entity = changed.entities[0]
    assert changed.text.startswith("幫幫")
    assert changed.text[entity.start : entity.end] == "爱奇艺"


def test_spoken_digits_reads_full_width_and_ascii_digits() -> None:
    """Phone numbers and codes become Chinese digits; other examples are left out."""
    changed = spoken_digits(EXAMPLES[3], random.Random(0))
    phone = changed.entities[0]
    spoken = changed.text[phone.start : phone.end]
    assert spoken in ("幺三九零零幺三九零零零", "一三九零零一三九零零零")
    assert spoken_digits(EXAMPLES[0], random.Random(0)) is None
    assert spoken_digits(EXAMPLES[2], random.Random(0)) is None  # references stay as written


def test_no_punctuation_keeps_spaces_between_latin_words() -> None:
    """Punctuation and pauses go; a space between two Latin words or numbers stays."""
    assert no_punctuation(EXAMPLES[0]).text == "帮我把爱奇艺的自动续费关了谢谢"
    assert no_punctuation(EXAMPLES[1]).text == "手机号13800138000验证码482913吗"
    assert no_punctuation(EXAMPLES[4]).text == "unsubscribe QQ音乐pls"
    assert no_punctuation(EXAMPLES[5]) is None


def test_unknown_kind_is_an_error() -> None:
    """A misspelt perturbation name fails loudly."""
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(EXAMPLES[0], "reverse", 1, 0)


def test_homophone_table_pairs_same_pinyin() -> None:
    """The table groups common Simplified characters by toneless pinyin."""
    pytest.importorskip("pypinyin")
    from bench.perturb import homophone_table

    table = homophone_table(["费用 废话 飞机", "费 废 飞 續 续", "的"], min_count=1)
    assert set(table["费"]) == {"废", "飞"}
    assert "續" not in table and "的" not in table  # Traditional; several readings
