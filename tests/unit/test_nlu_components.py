"""The custom NLU components: normaliser, catalog tokenizer and catalog entity extractor."""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import load_catalog
from nlu.catalog_entities import CatalogEntityExtractor, build_pipeline
from nlu.catalog_tokenizer import CatalogJiebaTokenizer
from nlu.normalizer import ChineseTextNormalizer


@pytest.fixture(scope="module")
def extractor() -> CatalogEntityExtractor:
    """An extractor with the pipeline built from the real catalog."""
    return CatalogEntityExtractor(
        {"catalog": "data/catalog.yml"}, None, None, build_pipeline(load_catalog())
    )


def values(extractor, text):
    return [(e["entity"], e["value"]) for e in extractor.extract(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("帮我把腾讯视频会员的自动续费关了", [("service", "腾讯视频VIP")]),
        ("取消绿钻吧", [("service", "QQ音乐绿钻")]),
        ("优酷vip退订", [("service", "优酷VIP")]),
        ("米咕那个退订", [("service", "咪咕视频钻石会员")]),
        ("腾迅视频不要了", [("service", "腾讯视频VIP")]),
        (
            "网易云音乐黑胶VIP和百度网盘SVIP都取消",
            [("service", "网易云音乐黑胶VIP"), ("service", "百度网盘超级会员")],
        ),
        (
            "我的号是13800138000验证码482913",
            [("phone_number", "13800138000"), ("verification_code", "482913")],
        ),
        ("+8613900139000", [("phone_number", "13900139000")]),
        ("查一下td20261124k7m2q5", [("reference_number", "TD20261124K7M2Q5")]),
        ("单号 TD 20261101 B2N6WD 状态", [("reference_number", "TD20261101B2N6WD")]),
        ("扣了我25块", []),
        ("我想问问会员的事", []),
    ],
)
def test_extractor_finds_canonical_values(extractor, text, expected) -> None:
    """Catalog names by any alias or typo, and number shapes, with normalised values."""
    assert values(extractor, text) == expected


def test_extractor_offsets_point_at_the_surface(extractor) -> None:
    """start/end cover the words the user said."""
    text = "我要退订爱奇艺的会员"
    (ent,) = extractor.extract(text)
    assert text[ent["start"] : ent["end"]] == "爱奇艺"
    assert ent["extractor"] == "CatalogEntityExtractor"


def test_normaliser_rewrites_text_and_moves_training_entities() -> None:
    """Spoken digits become ASCII and the annotated span follows the number."""
    text = "我的号码是幺三八 零零幺三 八零零零好的"
    start = text.index("幺")
    end = text.index("好")
    message = Message(
        data={
            "text": text,
            "intent": "inform",
            "entities": [
                {"entity": "phone_number", "start": start, "end": end, "value": text[start:end]}
            ],
        }
    )
    ChineseTextNormalizer().process_training_data(TrainingData([message]))
    new_text = message.get("text")
    ent = message.get("entities")[0]
    assert new_text == "我的号码是13800138000好的"
    assert new_text[ent["start"] : ent["end"]] == "13800138000"
    assert ent["value"] == "13800138000"


def test_normaliser_processes_traditional_input() -> None:
    """Incoming Traditional characters reach the tokenizer as Simplified."""
    message = Message(data={"text": "我要退訂愛奇藝的會員"})
    ChineseTextNormalizer().process([message])
    assert message.get("text") == "我要退订爱奇艺的会员"


def test_tokenizer_keeps_catalog_words_whole_and_persists_them(tmp_path) -> None:
    """Names and domain words are single tokens; the dictionary travels inside the model."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("tokenizer")
    tokenizer = CatalogJiebaTokenizer.create(
        {**CatalogJiebaTokenizer.get_default_config(), "catalog": "data/catalog.yml"},
        storage,
        resource,
        None,
    )
    tokenizer.train(TrainingData([]))
    tokens = [
        t.text
        for t in tokenizer.tokenize(
            Message(data={"text": "把百度网盘超级会员的自动续费退订了"}), "text"
        )
    ]
    assert "百度网盘超级会员" in tokens and "自动续费" in tokens and "退订" in tokens
    loaded = CatalogJiebaTokenizer.load(
        {**CatalogJiebaTokenizer.get_default_config(), "catalog": "does-not-exist.yml"},
        storage,
        resource,
        None,
    )
    assert "百度网盘超级会员" in loaded._words


def test_catalog_change_changes_the_fingerprint(tmp_path) -> None:
    """Editing the catalog retrains the model even when no training data changed."""
    path = tmp_path / "catalog.yml"
    path.write_text("products: []\n", encoding="utf-8")
    first = CatalogJiebaTokenizer.fingerprint_addon({"catalog": str(path)})
    path.write_text("products: []\nvocabulary: [退订]\n", encoding="utf-8")
    assert CatalogJiebaTokenizer.fingerprint_addon({"catalog": str(path)}) != first
    assert CatalogEntityExtractor.fingerprint_addon({"catalog": str(path)}) is not None
