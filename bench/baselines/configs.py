"""Pipeline configurations of the trained baselines, the ablations derived from config.yml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import yaml

HERE = Path(__file__).resolve().parent
STOCK_CONFIG = HERE / "stock_whitespace.yml"
NORMALIZER = "nlu.normalizer.ChineseTextNormalizer"
CATALOG_TOKENIZER = "nlu.catalog_tokenizer.CatalogJiebaTokenizer"
CATALOG_EXTRACTOR = "nlu.catalog_entities.CatalogEntityExtractor"
ISOLATED_EXTRACTOR = "bench.baselines.isolated_entities.IsolatedCatalogEntityExtractor"

# name → (drop the normaliser, drop the custom jieba dictionary)
ABLATIONS: Dict[str, tuple] = {
    "ablation": (True, True),
    "no_normalizer": (True, False),
    "no_dictionary": (False, True),
}


def load_config(path: Path) -> Dict[str, Any]:
    """A Rasa config file as a dict."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def ablation_config(
    shipped: Dict[str, Any], drop_normalizer: bool, drop_dictionary: bool
) -> Dict[str, Any]:
    """The shipped NLU pipeline without the normaliser and/or the catalog dictionary.

    Every other step stays as shipped, the catalog entity extractor included (so entity
    scores stay comparable); it is swapped for its isolated twin, which keeps the
    catalog words out of jieba's global dictionary and so out of the plain tokenizer.
    """
    config = copy.deepcopy(shipped)
    config.pop("policies", None)
    config["assistant_id"] = "bench-ablation"
    names = [step["name"] for step in config.get("pipeline", [])]
    for required in (NORMALIZER, CATALOG_TOKENIZER, CATALOG_EXTRACTOR):
        if required not in names:
            raise ValueError(f"config.yml no longer has {required}: update bench/baselines")
    pipeline = []
    for step in config["pipeline"]:
        name = step["name"]
        if name == NORMALIZER and drop_normalizer:
            continue
        if name == CATALOG_TOKENIZER and drop_dictionary:
            step = {k: v for k, v in step.items() if k != "catalog"}
            step["name"] = "JiebaTokenizer"
        elif name == CATALOG_EXTRACTOR:
            step = {**step, "name": ISOLATED_EXTRACTOR}
        pipeline.append(step)
    config["pipeline"] = pipeline
    return config


def write_config(config: Dict[str, Any], path: Path) -> Path:
    """Writes a config dict as YAML."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return path
