"""The bench's sound perturbations: misheard names and verbs, and the listed ASR confusions."""

from __future__ import annotations

import ast
import random
from collections import Counter
from pathlib import Path
from typing import List

import pytest
from pypinyin import Style, lazy_pinyin

from bench.perturb import (
    DOMAIN_WORDS,
    SOUND_KINDS,
    Entity,
    Example,
    asr_confusions,
    catalog_names,
    name_homophones,
    perturb,
    perturb_all,
    verb_homophones,
)
from bench.sound_alike import (
    FUZZY_TYPES,
    HOMOPHONE_TYPES,
    confusion_type,
    confusions,
    sound_changes,
    sound_table,
)

ROOT = Path(__file__).resolve().parents[2]


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
    _example("我要取消腾讯视频会员的连续包月", "cancel_subscription",
             ("腾讯视频会员", "service", "腾讯视频VIP")),
    _example("手机号13800138000，帮我退订QQ音乐绿钻", "cancel_subscription",
             ("13800138000", "phone_number", "13800138000"),
             ("QQ音乐绿钻", "service", "QQ音乐绿钻")),
    _example("查询一下单号TD20261124K7M2Q5", "query_cancellation",
             ("TD20261124K7M2Q5", "reference_number", "TD20261124K7M2Q5")),
    _example("转人工客服", "request_human"),
    _example("今天天气怎么样", "out_of_scope"),
]  # fmt: skip
SEEDS = range(12)


def _toneless(text: str) -> List[str]:
    """Toneless syllables, one per character, read in context."""
    return lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: list(s))


def _changed(original: Example, changed: Example) -> List[int]:
    """Positions where the (equally long) texts differ."""
    assert len(changed.text) == len(original.text)
    return [i for i, (a, b) in enumerate(zip(original.text, changed.text, strict=True)) if a != b]


def _inside(example: Example, i: int, entity: str = "") -> bool:
    return any(e.start <= i < e.end and entity in ("", e.entity) for e in example.entities)


@pytest.mark.parametrize("kind", SOUND_KINDS)
def test_sound_kinds_are_seeded(kind: str) -> None:
    """Same seed, same subset; over several seeds the draws differ."""
    assert perturb_all(EXAMPLES, kind, seed=3) == perturb_all(EXAMPLES, kind, seed=3)
    texts = {perturb(EXAMPLES[1], kind, seed, 1).text for seed in SEEDS}
    assert len(texts) > 1


@pytest.mark.parametrize("kind", SOUND_KINDS)
def test_sound_kinds_keep_intent_values_and_spans(kind: str) -> None:
    """Each kind changes the text; intent, entity names and values stay; spans keep lengths."""
    for seed in SEEDS:
        for index, original in enumerate(EXAMPLES[:3]):
            changed = perturb(original, kind, seed, index)
            assert changed is not None and changed.text != original.text
            assert changed.intent == original.intent
            for old, new in zip(original.entities, changed.entities, strict=True):
                assert (new.start, new.end, new.entity, new.value) == (
                    old.start, old.end, old.entity, old.value,
                )  # fmt: skip
            assert "13800138000" in changed.text or "13800138000" not in original.text


def test_name_homophones_respell_the_catalog_name_only() -> None:
    """Only characters of the name inside the service entity change, to the same toneless
    pinyin, and the result is never a spelling the catalog already lists."""
    names, table = catalog_names(), sound_table()
    for seed in SEEDS:
        for original in EXAMPLES[:3]:
            changed = name_homophones(original, random.Random(seed), names, table)
            diffs = _changed(original, changed)
            assert 1 <= len(diffs) <= 2
            assert all(_inside(original, i, "service") for i in diffs)
            assert all(_toneless(changed.text[i])[0] == _toneless(original.text)[i] for i in diffs)
            service = next(e for e in changed.entities if e.entity == "service")
            assert changed.text[service.start : service.end].lower() not in names.listed
    misheard_already = _example(
        "退订爱七艺", "cancel_subscription", ("爱七艺", "service", "爱奇艺黄金VIP")
    )
    assert name_homophones(misheard_already, random.Random(0), names, table) is None
    assert name_homophones(EXAMPLES[4], random.Random(0), names, table) is None


def test_verb_homophones_respell_domain_words_outside_entities() -> None:
    """Changed characters lie in a listed domain word outside every entity, same pinyin."""
    table = sound_table()
    in_words = set()
    for original in EXAMPLES:
        for word in DOMAIN_WORDS:
            at = original.text.find(word)
            while at >= 0:
                in_words.update(range(at, at + len(word)))
                at = original.text.find(word, at + 1)
        for seed in SEEDS:
            changed = verb_homophones(original, random.Random(seed), table)
            if changed is None:
                assert original is EXAMPLES[5]
                continue
            for i in _changed(original, changed):
                assert i in in_words and not _inside(original, i)
                assert _toneless(changed.text[i])[0] == _toneless(original.text)[i]
        in_words.clear()
    # 会员 inside the entity 腾讯视频会员 stays; 取消 and 包月 outside it are respelt.
    changed = verb_homophones(EXAMPLES[1], random.Random(0), table)
    assert "腾讯视频会员" in changed.text


def test_asr_confusions_make_only_the_listed_confusions() -> None:
    """Every changed character differs by exactly one listed fuzzy pair; all types occur."""
    table, seen = sound_table(), Counter()
    for seed in range(40):
        for original in EXAMPLES:
            changed = asr_confusions(original, random.Random(seed), table)
            if changed is None:
                continue
            kinds = sound_changes(original.text, changed.text)
            assert kinds and set(kinds) <= set(FUZZY_TYPES)
            seen.update(kinds)
    assert set(seen) == set(FUZZY_TYPES)


def test_confusion_pairs() -> None:
    """The table lists 平翘舌, 前后鼻音 and n/l in both directions, one pair at a time."""
    assert confusions("zhang") == {"zang": "retroflex", "zhan": "nasal"}
    assert confusions("zi") == {"zhi": "retroflex"}
    assert confusions("san") == {"shan": "retroflex", "sang": "nasal"}
    assert confusions("nin") == {"lin": "n_l", "ning": "nasal"}
    assert confusions("leng") == {"neng": "n_l", "len": "nasal"}
    assert confusions("dong") == {} and confusions("xiao") == {}
    assert confusion_type("zhi4", "zi4") == "retroflex"
    assert confusion_type("qu3", "qu4") == "tone"
    assert confusion_type("qu3", "qu3") == "same_sound"
    assert confusion_type("fei4", "hui4") is None  # f/h is not a listed confusion
    assert set(HOMOPHONE_TYPES) == {"same_sound", "tone"}


def test_sound_changes_name_each_respelling() -> None:
    """The bench counts one type per changed character."""
    assert sound_changes("取消续费", "取销续废") == ["same_sound", "same_sound"]
    assert sound_changes("你好", "理好") == ["n_l"]
    with pytest.raises(ValueError):
        sound_changes("你好", "你")


def test_the_bench_does_not_use_the_feature_s_matching_code() -> None:
    """The subsets are generated without nlu/ (the feature under test)."""
    for module in ("bench/sound_alike.py", "bench/perturb.py"):
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        imported = {
            name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else
                [alias.name for alias in node.names]
            )
        }  # fmt: skip
        assert not any(name == "nlu" or name.startswith("nlu.") for name in imported), module
