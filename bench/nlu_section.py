"""The NLU section of the report: tables, plots, notes and raw numbers (bench/results/nlu.json)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench.nlu_metrics import merge_scores
from bench.nlu_plots import bar_chart, confusion_plot
from bench.nlu_tables import build_tables, entity_f1

PERTURBATIONS = {
    "homophones": "about one character in seven outside entities replaced by a common "
    "Simplified character with the same toneless pinyin (pypinyin; table from the training "
    "data's characters), as ASR mishears",
    "typos": "one keyboard slip outside entities: a character deleted, doubled, swapped with "
    "its neighbour, or (Latin letters) replaced by an adjacent QWERTY key",
    "traditional": "the whole utterance, entities included, in Traditional characters "
    "(OpenCC s2t)",
    "spoken_digits": "phone numbers and codes written as read aloud (幺/一, 零, 二…); the "
    "entity value is unchanged",
    "no_punctuation": "punctuation and pauses (spaces) outside entities dropped, as in ASR "
    "output",
}
NOTES = [
    "Metrics: intent accuracy counts `nlu_fallback` as wrong; macro F1 averages the F1 of the "
    "intents present in the file; entities are scored on (entity, canonical value) pairs "
    "exactly as `evaluation/nlu.py` (the accuracy gates) counts them; – = no entity "
    "expected or found.",
    "(a) stock whitespace: WhitespaceTokenizer, RegexFeaturizer, LexicalSyntacticFeaturizer, "
    "word and char_wb(1-4) CountVectors, DIET with entity recognition, EntitySynonymMapper; "
    "DIET size, epochs and seed and the fallback thresholds as shipped "
    "(`bench/baselines/stock_whitespace.yml`).",
    "(b) keyword rules: `bench/baselines/keywords.py`, written from the contract and the "
    "training data; services by catalog name, numbers by regex, no normaliser.",
    "(c) ablation: config.yml without the normaliser and with plain JiebaTokenizer (no catalog "
    "dictionary); (c1) and (c2) remove only one of them. All three keep the catalog entity "
    "extractor, in a variant whose jieba dictionary stays private "
    "(`bench/baselines/isolated_entities.py`), so entity scores stay comparable and the "
    "tokenizer really runs without the dictionary. Their configs: `logs/config_*.yml`.",
]


def _stale_note(run: Dict[str, Any]) -> List[str]:
    """A warning when the shipped model predates the current config or data."""
    if not run.get("stale"):
        return []
    return [
        "**`rasa train --dry-run` says config.yml or data/ changed since the shipped model was "
        "trained, while the baselines are trained on the current files: `make train` before "
        "`make bench` for a fair comparison.**"
    ]


def write_section(
    results_dir: Path, datasets: Sequence[Any], labels: Dict[str, str],
    runs: Dict[str, Dict[str, Any]], quick: bool, seed: int,
    failed: Optional[Dict[str, str]] = None,
) -> Path:  # fmt: skip
    """Builds the tables, plots and notes from the scores and writes nlu.json."""
    all_labels, labels = labels, {s: label for s, label in labels.items() if s in runs}
    systems = list(labels)
    clean = [d for d in datasets if d.perturbation is None]
    perturbed = [d for d in datasets if d.perturbation]
    pooled = {s: merge_scores([runs[s]["datasets"][d.name] for d in clean]) for s in systems}
    twin: Dict[str, Dict[str, float]] = {}
    for s in systems:
        correct = {
            i: ok
            for d in clean
            for i, ok in zip(d.sources, runs[s]["datasets"][d.name]["correct"], strict=True)
        }
        twin[s] = {d.name: statistics.fmean(correct[i] for i in d.sources) if d.sources else 0.0
                   for d in perturbed}  # fmt: skip
    tables = build_tables(labels, clean, perturbed, runs, pooled, twin)

    figures, plotted = [], {}
    groups = [d.name for d in datasets]

    def series(value: Any) -> Dict[str, List[Optional[float]]]:
        return {labels[s]: [value(runs[s]["datasets"][g]) for g in groups] for s in systems}

    kinds = [d.name for d in perturbed]
    drop = {labels[s]: [runs[s]["datasets"][k]["accuracy"] - twin[s][k] for k in kinds]
            for s in systems}  # fmt: skip
    for png, x, ys, ylabel, caption in (
        ("nlu_accuracy.png", groups, series(lambda r: r["accuracy"]), "intent accuracy",
         "Intent accuracy per system on each held-out file and perturbed subset"),
        ("nlu_entity_f1.png", groups, series(lambda r: entity_f1(r["overall"])), "entity F1",
         "Entity F1 (value level) per system on each held-out file and perturbed subset"),
        ("nlu_robustness.png", kinds, drop, "accuracy change",
         "What each perturbation costs: subset accuracy minus the same utterances unperturbed"),
    ):  # fmt: skip
        bar_chart(results_dir / png, x, ys, ylabel, caption)
        plotted[png] = {"groups": x, "series": ys}
        figures.append({"path": png, "caption": caption})
    first = systems[0]
    for d in clean:
        png = f"nlu_confusion_{d.name.replace('/', '_')}.png"
        title = f"{labels[first]} on {d.name} (n={len(d.sources)})"
        plotted[png] = confusion_plot(results_dir / png, runs[first]["datasets"][d.name]
                                      ["confusion"], title)  # fmt: skip
        figures.append({"path": png, "caption": f"Confusion matrix: {title}"})

    notes = _stale_note(runs.get("shipped", {})) + [
        "Held-out files: " + ", ".join(f"`{d.name}` ({len(d.sources)})" for d in clean)
        + "; the baselines are trained on `data/` only.",
        f"Perturbed subsets (seed {seed}) are made from the pooled held-out utterances; one "
        "that a perturbation leaves unchanged is not in its subset. They are in "
        "`nlu_subsets/*.yml`. "
        + " ".join(f"**{k}**: {v}." for k, v in PERTURBATIONS.items() if k in kinds),
        *NOTES,
        f"Shipped model: `{runs.get('shipped', {}).get('model', '?')}` (the newest in models/). "
        "Training times are wall-clock on this machine with an empty Rasa cache; ms/parse is "
        "the median over every parse of the run.",
    ]  # fmt: skip
    notes += [f"**{all_labels.get(s, s)}: {why}.**" for s, why in (failed or {}).items()]
    if quick:
        notes.append("**Quick run:** the trained baselines (a) and (c) were skipped.")
    section = {
        "title": "NLU: intents and entities on held-out data",
        "tables": tables,
        "figures": figures,
        "notes": notes,
        "data": {
            "seed": seed,
            "quick": quick,
            "datasets": [
                {
                    "name": d.name,
                    "path": str(d.path),
                    "n": len(d.sources),
                    "perturbation": d.perturbation,
                }
                for d in datasets
            ],  # fmt: skip
            "failed": failed or {},
            "systems": {
                s: {
                    "label": labels[s],
                    **runs[s],
                    "pooled": pooled[s],
                    "unperturbed_accuracy": twin[s],
                }
                for s in systems
            },  # fmt: skip
            "figures": plotted,
        },
    }
    path = results_dir / "nlu.json"
    path.write_text(json.dumps(section, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def rebuild(results_dir: Path) -> Optional[Path]:
    """Re-renders nlu.json's tables, plots and notes from its stored scores (no model runs)."""
    from bench.nlu_bench import SYSTEMS, build_datasets

    path = results_dir / "nlu.json"
    data = json.loads(path.read_text(encoding="utf-8")).get("data") if path.exists() else None
    if not isinstance(data, dict) or not {"seed", "quick", "datasets", "systems"} <= set(data):
        return None  # nothing this version can redraw from
    datasets, _ = build_datasets(results_dir, data["seed"])
    if [(d.name, len(d.sources)) for d in datasets] != [
        (d["name"], d["n"]) for d in data["datasets"]
    ]:
        raise RuntimeError("the held-out files changed since nlu.json was written: rerun the bench")
    derived = ("label", "pooled", "unperturbed_accuracy")
    runs = {
        s: {k: v for k, v in info.items() if k not in derived}
        for s, info in data["systems"].items()
    }
    return write_section(
        results_dir, datasets, SYSTEMS, runs, data["quick"], data["seed"], data.get("failed")
    )
