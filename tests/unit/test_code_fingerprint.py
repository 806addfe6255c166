"""Rasa's training cache must not reuse a component whose code changed: each component that
carries rules in code fingerprints that code."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from nlu.catalog_entities import CatalogEntityExtractor
from nlu.code_fingerprint import code_fingerprint
from nlu.normalizer import ChineseTextNormalizer
from nlu.pinyin_featurizer import PinyinFeaturizer
from nlu.sound_alikes import SoundAlikeWordRestorer


def test_the_fingerprint_follows_the_source(tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "rules_under_test.py"
    module.write_text("RULE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("rules_under_test", None)
    before = code_fingerprint(["rules_under_test"])
    assert code_fingerprint(["rules_under_test"]) == before
    module.write_text("RULE = 2\n")
    importlib.invalidate_caches()
    assert code_fingerprint(["rules_under_test"]) != before
    assert code_fingerprint(["rules_under_test"], ["opencc"]) != code_fingerprint(
        ["rules_under_test"]
    )


@pytest.mark.parametrize(
    ("component", "module"),
    [
        (ChineseTextNormalizer, "nlu/normalize.py"),
        (SoundAlikeWordRestorer, "nlu/sound_alikes.py"),
        (CatalogEntityExtractor, "nlu/catalog_entities.py"),
        (PinyinFeaturizer, "nlu/pinyin_featurizer.py"),
    ],
)
def test_each_rule_carrying_component_fingerprints_its_code(component, module, monkeypatch) -> None:
    """Reading a different source for the module changes the component's fingerprint."""
    config = {"catalog": "data/catalog.yml"}
    before = component.fingerprint_addon(config)
    real = Path.read_bytes

    def edited(path: Path) -> bytes:
        data = real(path)
        return data + b"\n# edited\n" if str(path).endswith(module) else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert component.fingerprint_addon(config) != before
