"""The inbox bench's loop without a model (bench/inbox_bench.py): simulated conversations
from given parses → Rasa's SQLTrackerStore → review file → simulated operator → merge."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict

import yaml
from rasa.shared.nlu.training_data.loading import load_data

from bench import inbox_bench as bench
from bench import inbox_families as families
from bench import inbox_simulation as simulation
from evaluation.review_inbox.inbox import collect_review
from evaluation.review_inbox.merge import REVIEWED_FILE, merge

ROOT = Path(__file__).resolve().parents[2]


def _parse(intent: str, confidence: float) -> Dict:
    ranking = [{"name": intent, "confidence": confidence}]
    return {"intent": ranking[0], "intent_ranking": ranking, "entities": []}


def test_the_bench_loop_recovers_every_family_and_merges_it(tmp_path: Path) -> None:
    logged, fresh = families.split_families()
    assert len(logged) == families.LOGGED * len(families.FAMILIES)
    assert not {t for _, t in fresh} & {t for _, _, t in logged}
    ordinary = [("cancel_subscription", "取消腾讯视频会员"), ("greet", "你好")] * 20
    utterances = [(intent, text) for _, intent, text in logged] + ordinary
    parses = {text: _parse(intent, 0.99) for intent, text in ordinary}
    for n, (_, _, text) in enumerate(logged):  # wrong with confidence, or the fallback
        parses[text] = _parse("nlu_fallback", 0.45) if n % 4 == 0 else _parse("ask_legal_rights", 1)
    for text in [simulation.CORRECTION, simulation.HANDOFF, *simulation.RETRIES.values()]:
        parses[text] = _parse("deny" if text == simulation.CORRECTION else "request_human", 0.99)
    for intent, text in simulation.RETRIES.items():
        parses[text] = _parse(intent, 0.99)
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    simulation.fill_store(url, simulation.conversations(utterances, parses))
    review = tmp_path / "review.yml"
    collect_review(url, review, top=50)
    truth = {text: intent for intent, text in utterances}
    found = simulation.review_as_operator(review, truth, {t: n for n, _, t in logged})
    for name, holders in found.items():
        assert len(holders) == 1 and holders[0][0] <= bench.TOP, (name, holders)
    labelled = yaml.safe_load(review.read_text(encoding="utf-8"))["groups"]
    assert all(g.get("intent") or g.get("discard") for g in labelled)
    data = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", data)
    report = merge(review, data)
    written = {
        m.get("text"): m.get("intent") for m in load_data(str(data / REVIEWED_FILE)).intent_examples
    }
    assert written == {text: intent for _, intent, text in logged}
    assert sum(report.written.values()) == len(logged)


def test_config_with_seed_changes_only_diets_seed(tmp_path: Path) -> None:
    """Each seeded training uses the shipped config with nothing but DIET's seed changed."""
    shipped = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    seeded = yaml.safe_load(bench.config_with_seed(7, tmp_path / "c.yml").read_text("utf-8"))
    diet = [c for c in seeded["pipeline"] if c["name"] == "DIETClassifier"]
    assert [c["random_seed"] for c in diet] == [7]
    diet[0]["random_seed"] = next(
        c["random_seed"] for c in shipped["pipeline"] if c["name"] == "DIETClassifier"
    )
    assert seeded == shipped


def _run(right: int, f1: float = 1.0) -> Dict:
    return {"held": {"total": 10, "intent_correct": right, "intent_accuracy": right / 10,
                     "entity_f1": f1}}  # fmt: skip


def test_not_lower_compares_means_over_seeds() -> None:
    """One seed lower is not lower when the mean holds; a lower mean or entity F1 is."""
    before = bench.mean_scores([_run(8), _run(9), _run(10)])
    assert before["held"]["intent_correct"] == 9 and before["held"]["intent_accuracy"] == 0.9
    assert bench.not_lower(before, bench.mean_scores([_run(10), _run(9), _run(8)]), ["held"])
    assert bench.not_lower(before, bench.mean_scores([_run(7), _run(10), _run(10)]), ["held"])
    assert not bench.not_lower(before, bench.mean_scores([_run(9), _run(9), _run(8)]), ["held"])
    lower_f1 = bench.mean_scores([_run(9, 0.9), _run(9), _run(9)])
    assert not bench.not_lower(before, lower_f1, ["held"])
