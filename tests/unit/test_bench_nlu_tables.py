"""The NLU section's robustness tables: the two perturbed means and the sound-alike tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bench import report
from bench.nlu_bench import Dataset
from bench.nlu_tables import build_tables
from bench.perturb import BASE_KINDS, KINDS

LABELS = {"shipped": "shipped", "stock_whitespace": "(a) stock whitespace"}
# Accuracy per subset: shipped 0.9 on the five old subsets and 0.6 on the three new ones.
ACCURACY = {"shipped": (0.9, 0.6), "stock_whitespace": (0.8, 0.5)}


def _scores(correct: List[bool], accuracy: float) -> Dict[str, Any]:
    """One system's scores on one file, shaped like bench.nlu_metrics.score_file's."""
    n = len(correct)
    return {
        "n": n, "accuracy": accuracy, "macro_f1": accuracy, "correct": correct,
        "gold": ["cancel"] * n, "predicted": ["cancel"] * n,
        "per_intent": {"cancel": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": n}},
        "per_entity": {"service": {"tp": 1, "fp": 0, "fn": 1}},
        "overall": {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5, "f1": 2 / 3},
        "intent_errors": [], "entity_errors": [], "confusion": [["cancel", "cancel", n]],
    }  # fmt: skip


def _fixture(tmp_path: Path) -> tuple:
    clean = [Dataset("nlu_holdout", tmp_path / "h.yml", [0, 1, 2, 3])]
    perturbed = []
    for kind in KINDS:
        changes = []
        if kind == "asr_confusions":
            changes = [["retroflex", "nasal"], ["n_l"], ["retroflex"], ["nasal"]]
        elif kind in ("homophones", "name_homophones", "verb_homophones"):
            changes = [["tone"], ["same_sound"], ["tone", "tone"], ["same_sound"]]
        perturbed.append(Dataset(kind, tmp_path / f"{kind}.yml", [0, 1, 2, 3], kind, changes))
    by_hand = Dataset("nlu_sound_alikes", tmp_path / "s.yml", [4, 5], separate=True)
    runs = {}
    for system, (old, new) in ACCURACY.items():
        datasets = {
            "nlu_holdout": _scores([True, True, True, True], 1.0),
            "nlu_sound_alikes": {
                **_scores([True, False], 0.5),
                "intent_errors": [["是驴钻", "inform", "affirm"]],
                "entity_errors": [["嘿胶", [["service", "网易云音乐黑胶VIP"]], []]],
            },
        }
        for d in perturbed:
            accuracy = old if d.name in BASE_KINDS else new
            datasets[d.name] = _scores([True, False, True, True], accuracy)
        runs[system] = {"datasets": datasets, "ms_per_parse": 5.0, "train_seconds": None}
    return clean, perturbed, runs, by_hand


def _tables(tmp_path: Path) -> List[Dict[str, Any]]:
    from bench.nlu_metrics import merge_scores

    clean, perturbed, runs, by_hand = _fixture(tmp_path)
    pooled = {s: merge_scores([runs[s]["datasets"]["nlu_holdout"]]) for s in LABELS}
    twin = {s: {d.name: 1.0 for d in perturbed} for s in LABELS}
    return build_tables(LABELS, clean, perturbed, runs, pooled, twin, [by_hand])


def test_headline_keeps_the_old_five_subset_mean(tmp_path: Path) -> None:
    """'perturbed acc.' averages all eight subsets; '5-subset acc.' the five of old reports."""
    headline = _tables(tmp_path)[0]
    columns = headline["columns"]
    assert columns[4:6] == ["perturbed acc.", "5-subset acc."]
    shipped = headline["rows"][0]
    assert shipped[4] == pytest.approx((5 * 0.9 + 3 * 0.6) / 8)
    assert shipped[5] == pytest.approx(0.9)
    assert "all 8 perturbed subsets" in headline["caption"]
    assert all(len(row) == len(columns) for row in headline["rows"])


def test_sound_subsets_side_by_side_with_the_stock_pipeline(tmp_path: Path) -> None:
    """One row per system; the hand-written file first, then accuracy (unperturbed) and
    entity F1 for each sound subset."""
    table = next(t for t in _tables(tmp_path) if t["caption"].startswith("Sound-alike utter"))
    assert table["columns"][:5] == [
        "system", "nlu_sound_alikes acc.", "nlu_sound_alikes entity F1",
        "homophones acc.", "homophones entity F1",
    ]  # fmt: skip
    assert table["rows"][0][1] == 0.5 and "`nlu_sound_alikes` (n=2)" in table["caption"]
    assert "asr_confusions entity F1" in table["columns"]
    assert [row[0] for row in table["rows"]] == ["shipped", "(a) stock whitespace"]
    at = table["columns"].index("name_homophones acc.")
    assert table["rows"][0][at] == "0.600 (1.000)"
    assert table["rows"][1][at + 1] == pytest.approx(2 / 3)


def test_accuracy_per_confusion_type(tmp_path: Path) -> None:
    """Characters and utterances per type; accuracy over the utterances that have it."""
    table = next(t for t in _tables(tmp_path) if "by confusion type" in t["caption"])
    rows = {(r[0], r[1]): r[2:] for r in table["rows"]}
    # asr_confusions: correct = [T, F, T, T]; retroflex in utterances 0 and 2.
    assert rows[("asr_confusions", "retroflex")] == [2, 2, 1.0, 1.0]
    assert rows[("asr_confusions", "n_l")] == [1, 1, 0.0, 0.0]
    assert rows[("asr_confusions", "nasal")] == [2, 2, 1.0, 1.0]
    assert rows[("homophones", "tone")] == [3, 2, 1.0, 1.0]
    assert ("typos", "tone") not in rows


def test_section_renders_into_the_report(tmp_path: Path) -> None:
    """write_section's nlu.json is a valid report section naming every new subset."""
    pytest.importorskip("matplotlib")
    from bench.nlu_section import write_section

    clean, perturbed, runs, by_hand = _fixture(tmp_path)
    path = write_section(tmp_path, clean + perturbed + [by_hand], LABELS, runs, False, 7)
    section = json.loads(path.read_text(encoding="utf-8"))
    assert report.section_problem(section) is None
    notes = " ".join(section["notes"])
    for kind in ("name_homophones", "verb_homophones", "asr_confusions"):
        assert f"**{kind}**" in notes
    assert "5-subset acc." in notes and "nlu/pinyin.py" in notes
    stored = {d["name"]: d["sound_changes"] for d in section["data"]["datasets"]}
    assert stored["asr_confusions"] == {"retroflex": 2, "nasal": 2, "n_l": 1}
    assert stored["typos"] == {}
    assert "`nlu_sound_alikes` (2 utterances" in notes
    per_file = next(t for t in section["tables"] if t["caption"] == "Per held-out file")
    assert {row[1] for row in per_file["rows"]} == {"nlu_holdout"}  # not pooled


def test_score_all_times_every_parse(tmp_path: Path) -> None:
    """Wall-clock median and mean CPU per parse, as the headline's last two columns show."""
    from bench.nlu_bench import score_all

    path = tmp_path / "tiny.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n    - 您好\n',
        encoding="utf-8",
    )

    def parse(text: str) -> dict:
        sum(range(20000))  # some CPU
        return {"intent": {"name": "greet"}, "entities": []}

    result = score_all(parse, [("tiny", str(path))])
    assert result["datasets"]["tiny"]["accuracy"] == 1.0
    assert result["ms_per_parse"] > 0 and result["cpu_ms_per_parse"] > 0
    assert _tables(tmp_path)[0]["columns"][-2:] == ["ms/parse", "CPU ms/parse"]


def test_errors_on_the_hand_written_file(tmp_path: Path) -> None:
    """The shipped system's intent and entity errors on the hand-written sound-alikes."""
    table = next(t for t in _tables(tmp_path) if "written by hand (intents" in t["caption"])
    assert table["rows"] == [
        ["nlu_sound_alikes", "是驴钻", "inform", "affirm"],
        ["nlu_sound_alikes", "嘿胶", '[["service", "网易云音乐黑胶VIP"]]', "[]"],
    ]
