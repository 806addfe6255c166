"""Catalog names found by how they sound: 疼讯视频 is 腾讯视频VIP, 忙过 is not 芒果TV会员."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import load_catalog
from nlu.catalog_entities import (
    AMBIGUOUS,
    SOUNDS_FILE,
    CatalogEntityExtractor,
    build_pipeline,
    sounds_of,
)
from nlu.normalize import normalize
from nlu.sound_alikes import restore_words, word_index
from tests.shared_files import shared_eval_files

ROOT = Path(__file__).resolve().parents[2]


def extractor_for(catalog) -> CatalogEntityExtractor:
    """An extractor with the ruler and the sound index of `catalog`, as training builds them."""
    return CatalogEntityExtractor({}, None, None, build_pipeline(catalog), None, sounds_of(catalog))


@pytest.fixture(scope="module")
def extractor() -> CatalogEntityExtractor:
    """The real catalog's extractor."""
    return extractor_for(load_catalog())


def services(extractor: CatalogEntityExtractor, text: str) -> List[Tuple[str, str]]:
    """(value, surface) of each service entity."""
    return [
        (e["value"], text[e["start"] : e["end"]])
        for e in extractor.extract(text)
        if e["entity"] == "service"
    ]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        # The same toneless pinyin as a name or alias, written with other characters.
        ("帮我取消滕讯视频", "腾讯视频VIP", "滕讯视频"),
        ("迷姑视频的会员不要了", "咪咕视频钻石会员", "迷姑视频"),
        ("摆渡网盘退订", "百度网盘超级会员", "摆渡网盘"),
        ("一动云盘的包月", "移动云盘会员", "一动云盘"),
        ("合彩云", "移动云盘会员", "合彩云"),
        ("往易云音乐", "网易云音乐黑胶VIP", "往易云音乐"),
        ("爱其艺会员", "爱奇艺黄金VIP", "爱其艺会员"),
        # 平翘舌 (zh/z, sh/s), 前后鼻音 (in/ing, an/ang), n/l.
        ("米姑砖石会员", "咪咕视频钻石会员", "米姑砖石会员"),
        ("腾讯四频", "腾讯视频VIP", "腾讯四频"),
        ("爱奇亿黄经会员", "爱奇艺黄金VIP", "爱奇亿黄经会员"),
        ("百度往盘", "百度网盘超级会员", "百度往盘"),
        ("视频彩灵", "视频彩铃", "视频彩灵"),
        ("退订女钻", "QQ音乐绿钻", "女钻"),
        ("我不要彩宁了", "视频彩铃", "彩宁"),
        # Two characters: one of them is the name's (驴钻, 绿专 → 绿钻; 茫果 → 芒果) ...
        ("驴钻关掉", "QQ音乐绿钻", "驴钻"),
        ("取消绿专", "QQ音乐绿钻", "绿专"),
        ("茫果的自动续费", "芒果TV会员", "茫果"),
        # ... or none, when the window is a word of the sentence that the dictionary does not know.
        ("嘿交不想续了", "网易云音乐黑胶VIP", "嘿交"),
        ("我那个材陵", "视频彩铃", "材陵"),
        # More than two characters: the sound alone (letters stand for themselves).
        ("把盲国tv的续费关了", "芒果TV会员", "盲国tv"),
        # Letters stand for themselves inside a sound-alike name.
        ("扣扣音月的会员", "QQ音乐绿钻", "扣扣音月"),
    ],
)
def test_a_sound_alike_name_is_the_product(extractor, text, value, surface) -> None:
    """A window that sounds like a catalog name gives its canonical value, offsets exact."""
    assert services(extractor, text) == [(value, surface)]


@pytest.mark.parametrize(
    "text",
    [
        "我最近忙过头了",  # mang guo, but 忙过 ends inside the word 过头
        "有苦说不出",  # you ku, but 有苦 starts a dictionary word (有苦难言)
        "我去笑了",
        "你的视频挺好看",  # 视频 alone is no membership
        "彩",  # one character sounds like too much
        "扣了我25块",
    ],
)
def test_common_words_that_sound_alike_are_not_names(extractor, text) -> None:
    """Short windows need a character of the name; single characters never match."""
    assert services(extractor, text) == []


def test_a_character_match_wins_over_a_longer_sound_alike(extractor) -> None:
    """腾讯视频 matched by characters is not re-read as the sound of 腾讯视频会员."""
    text = "取消腾讯视频会原"
    found = [e for e in extractor.extract(text) if e["entity"] == "service"]
    assert [(e["value"], text[e["start"] : e["end"]]) for e in found] == [
        ("腾讯视频VIP", "腾讯视频")
    ]


def test_the_longest_sound_alike_wins(extractor) -> None:
    """滕讯视频会原 is one name (腾讯视频会员), not 滕讯视频 plus a stray window."""
    assert services(extractor, "滕讯视频会原") == [("腾讯视频VIP", "滕讯视频会原")]


def test_numbers_and_names_together(extractor) -> None:
    """A phone number matched by shape is untouched; the sound-alike name is found beside it."""
    text = "13800138000 米谷视频退订"
    found = [(e["entity"], e["value"]) for e in extractor.extract(text)]
    assert found == [("phone_number", "13800138000"), ("service", "咪咕视频钻石会员")]


def test_no_ambiguity_in_the_real_catalog() -> None:
    """Today no two products share a sound key (a new one that does is asked about)."""
    keys = sounds_of(load_catalog())["keys"]
    assert {k: v for k, v in keys.items() if len(v) > 1} == {}


AMBIGUOUS_CATALOG = """
products:
  - name: 星空视频会员
    code: star_sky
    provider: 星空
    aliases: [星空视频]
    plans: [{name: 连续包月, price: "10.00", period: month}]
  - name: 星控视频会员
    code: star_control
    provider: 星控
    aliases: [星控视频]
    plans: [{name: 连续包月, price: "12.00", period: month}]
"""


def test_two_products_with_one_sound_are_both_offered_as_ambiguous(tmp_path) -> None:
    """心空视频 sounds like 星空视频 and 星控视频: one entity each on the same span, marked."""
    path = tmp_path / "catalog.yml"
    path.write_text(AMBIGUOUS_CATALOG, encoding="utf-8")
    ambiguous = extractor_for(load_catalog(path))
    text = "取消心空视频"
    found = [e for e in ambiguous.extract(text) if e["entity"] == "service"]
    assert sorted(e["value"] for e in found) == ["星控视频会员", "星空视频会员"]
    assert all(e[AMBIGUOUS] is True for e in found)
    assert {(e["start"], e["end"]) for e in found} == {(2, 6)}
    # Written with the characters of one of them, it is that one and not ambiguous.
    (exact,) = (e for e in ambiguous.extract("取消星控视频") if e["entity"] == "service")
    assert exact["value"] == "星控视频会员" and AMBIGUOUS not in exact


def test_a_single_sound_alike_is_not_marked_ambiguous(extractor) -> None:
    """Only a window with several candidates carries the mark."""
    (found,) = extractor.extract("米谷视频")
    assert AMBIGUOUS not in found


def test_the_sound_index_is_saved_with_the_model(tmp_path) -> None:
    """Training writes the index; loading reads it without the catalog."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("entities")
    trained = CatalogEntityExtractor.create(
        {"catalog": "data/catalog.yml"}, storage, resource, None
    )
    trained.train(TrainingData([]))
    with storage.read_from(resource) as directory:
        assert (Path(directory) / SOUNDS_FILE).exists()
    loaded = CatalogEntityExtractor.load({"catalog": "does-not-exist.yml"}, storage, resource, None)
    assert services(loaded, "疼讯视频") == [("腾讯视频VIP", "疼讯视频")]


def nlu_files() -> List[Path]:
    """Training data and every held-out file that exists here."""
    files = sorted((ROOT / "data" / "nlu").glob("*.yml"))
    files += [ROOT / "tests" / "nlu_holdout.yml", ROOT / "tests" / "nlu_sound_alikes.yml"]
    return files + list(shared_eval_files())


def test_no_new_wrong_service_anywhere_in_the_data(extractor) -> None:
    """On every training and held-out utterance, what only the sound finds is an annotated
    membership: the sound index adds no wrong `service`."""
    names_only = CatalogEntityExtractor({}, None, None, extractor._nlp)
    index = word_index()
    wrong = []
    for path in nlu_files():
        for example in load_data(str(path)).intent_examples:
            text = restore_words(normalize(example.get("text")), index)
            by_characters = {(e["value"], e["start"]) for e in names_only.extract(text)}
            expected = {
                e["value"] for e in example.get("entities") or [] if e["entity"] == "service"
            }
            added = [
                e["value"]
                for e in extractor.extract(text)
                if e["entity"] == "service" and (e["value"], e["start"]) not in by_characters
            ]
            wrong += [(path.name, text, value) for value in added if value not in expected]
    assert not wrong, wrong
