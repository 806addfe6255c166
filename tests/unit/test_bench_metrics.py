"""The NLU benchmark's scores on tiny hand-made examples, and its file helpers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.baselines import configs
from bench.nlu_bench import annotate, load_examples, write_nlu_yaml
from bench.nlu_metrics import entity_scores, intent_scores, merge_scores, score_file
from bench.perturb import Entity, Example


def test_intent_scores() -> None:
    """Accuracy, per-intent P/R/F1 over the gold intents, macro F1, confusion counts."""
    scores = intent_scores(["a", "a", "b", "c"], ["a", "b", "b", "nlu_fallback"])
    assert scores["n"] == 4 and scores["accuracy"] == 0.5
    a, b, c = (scores["per_intent"][k] for k in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (1.0, 0.5, 2)
    assert a["f1"] == pytest.approx(2 / 3)
    assert (b["precision"], b["recall"], b["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    assert (c["precision"], c["recall"], c["f1"]) == (0.0, 0.0, 0.0)
    assert "nlu_fallback" not in scores["per_intent"]
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert ["a", "b", 1] in scores["confusion"] and ["c", "nlu_fallback", 1] in scores["confusion"]


def test_entity_scores_by_value() -> None:
    """A right entity with a wrong value is one false positive and one false negative."""
    expected = [Counter({("service", "优酷VIP"): 1, ("phone_number", "13800138000"): 1}), Counter()]
    got = [Counter({("service", "优酷VIP"): 1, ("phone_number", "13800138001"): 1}),
           Counter({("service", "视频彩铃"): 1})]  # fmt: skip
    scores = entity_scores(expected, got)
    service, phone = scores["per_entity"]["service"], scores["per_entity"]["phone_number"]
    assert (service["tp"], service["fp"], service["fn"]) == (1, 1, 0)
    assert service["precision"] == 0.5 and service["recall"] == 1.0
    assert (phone["tp"], phone["fp"], phone["fn"]) == (0, 1, 1)
    assert scores["overall"]["precision"] == pytest.approx(1 / 3)
    assert scores["overall"]["recall"] == 0.5


def test_merge_scores() -> None:
    """Two files taken together score like one file with both."""
    part = {"gold": ["a", "b"], "predicted": ["a", "a"],
            "per_entity": {"service": {"tp": 1, "fp": 0, "fn": 1}}}  # fmt: skip
    other = {"gold": ["b"], "predicted": ["b"],
             "per_entity": {"service": {"tp": 1, "fp": 1, "fn": 0}}}  # fmt: skip
    merged = merge_scores([part, other])
    assert merged["n"] == 3 and merged["accuracy"] == pytest.approx(2 / 3)
    assert merged["per_entity"]["service"]["tp"] == 2
    assert merged["overall"]["precision"] == pytest.approx(2 / 3)


NLU_FILE = """version: "3.1"
nlu:
- intent: cancel_subscription
  examples: |
    - 退订[优酷会员]{"entity": "service", "value": "优酷VIP"}
    - 取消[彩铃]{"entity": "service", "value": "视频彩铃"}
- intent: greet
  examples: |
    - 你好
"""


def test_score_file_agrees_with_the_gates(tmp_path: Path) -> None:
    """Scores go through tests/nlu/evaluation.py and keep per-example results."""
    path = tmp_path / "tiny.yml"
    path.write_text(NLU_FILE, encoding="utf-8")
    answers = {
        "退订优酷会员": ("cancel_subscription", [("service", "优酷VIP")]),
        "取消彩铃": ("greet", [("service", "芒果TV会员")]),
        "你好": ("greet", []),
    }

    def parse(text: str) -> dict:
        intent, entities = answers[text]
        return {"intent": {"name": intent},
                "entities": [{"entity": e, "value": v} for e, v in entities]}  # fmt: skip

    scores = score_file(path, parse)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["correct"] == [True, False, True]
    assert scores["per_entity"]["service"]["tp"] == 1
    assert scores["intent_errors"] == [["取消彩铃", "cancel_subscription", "greet"]]
    assert scores["overall"]["gate_f1"] == pytest.approx(0.5)


def test_perturbed_files_round_trip(tmp_path: Path) -> None:
    """Written subsets load back identically, grouped by intent, repeated texts once."""
    examples = [
        Example("退订優酷會員吧", "cancel_subscription", (Entity(2, 6, "service", "优酷VIP"),)),
        Example("你好", "greet"),
        Example(
            "号码幺三八零零幺三八零零零", "inform", (Entity(2, 13, "phone_number", "13800138000"),)
        ),  # fmt: skip
        Example("你好", "greet"),
    ]
    assert annotate(examples[0]) == '退订[優酷會員]{"entity": "service", "value": "优酷VIP"}吧'
    path = tmp_path / "subset.yml"
    order = write_nlu_yaml(examples, path)
    assert order == [0, 1, 2]
    assert load_examples(path) == examples[:3]


def test_ablation_config_removes_only_what_it_says() -> None:
    """No normaliser, plain jieba, the isolated extractor; the rest as shipped, no policies."""
    shipped = configs.load_config(Path(__file__).resolve().parents[2] / "config.yml")
    config = configs.ablation_config(shipped, drop_normalizer=True, drop_dictionary=True)
    names = [step["name"] for step in config["pipeline"]]
    assert configs.NORMALIZER not in names and configs.CATALOG_TOKENIZER not in names
    assert "JiebaTokenizer" in names and configs.ISOLATED_EXTRACTOR in names
    assert len(names) == len(shipped["pipeline"]) - 1 and "policies" not in config
    only_norm = configs.ablation_config(shipped, drop_normalizer=True, drop_dictionary=False)
    assert configs.CATALOG_TOKENIZER in [step["name"] for step in only_norm["pipeline"]]
    with pytest.raises(ValueError, match="no longer has"):
        configs.ablation_config({"pipeline": []}, True, True)
