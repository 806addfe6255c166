"""Review inbox benchmark: does the loop from misunderstood turns to training data work?

Plants families of unseen phrasings (bench/inbox_families.py, one new way of saying one
intent each) among ordinary turns, logs them through the shipped model into a SQL tracker store
shaped as Rasa's, collects the review file (evaluation/review_inbox), labels each group as an
operator would (a group is given the intent of the family most of its examples come from;
groups of ordinary turns are discarded), merges into a copy of data/nlu and compares, before
and after: accuracy on fresh samples of the families (never logged) and on the held-out files.

Before and after are trained the same way (`rasa train nlu`, the shipped config, a fresh cache)
with each of SEEDS as DIET's seed and compared by their means: one DIET training moves a held-out
file by a few utterances with the seed alone (289-292 of 299 on data/nlu), more than the change
being measured, so a single pair of trainings cannot say "not lower".
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.inbox_families import FAMILIES, LOGGED, SEED, split_families
from bench.inbox_simulation import (
    CORRECTION,
    GIVE_UP_EVERY,
    HANDOFF,
    RETRIES,
    conversations,
    fill_store,
    review_as_operator,
)
from bench.nlu_bench import log_to

ROOT = Path(__file__).resolve().parents[1]
TOP = 10
TARGET = 0.90
# DIET seeds trained on each side; 42 is the shipped config's.
SEEDS = (42, 1, 2)


def held_out_files() -> List[Path]:
    """The held-out files the NLU is gated on (never trained on, never merged)."""
    from evaluation.review_inbox.merge import evaluation_files

    return evaluation_files(ROOT)


def write_plain_nlu(examples: Sequence[Tuple[str, str]], path: Path) -> Path:
    """(intent, text) examples as an NLU file without entities."""
    by_intent: Dict[str, List[str]] = {}
    for intent, text in examples:
        by_intent.setdefault(intent, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |", *(f"    - {t}" for t in texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parse_and_score(model: str, texts: List[str], files: List[Tuple[str, str]]) -> Dict:
    """In a fresh process: every text's parse, and intent accuracy / entity F1 per file."""
    import asyncio
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from evaluation.nlu import evaluate

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.ERROR)
    agent = Agent.load(model)
    loop = asyncio.new_event_loop()
    try:

        def parse(text: str) -> Dict[str, Any]:
            return loop.run_until_complete(agent.parse_message(text))

        parses = {text: parse(text) for text in dict.fromkeys(texts)}
        scores = {}
        for name, path in files:
            report = evaluate(Path(path), parse)
            scores[name] = {
                "total": report.total,
                "intent_accuracy": report.intent_accuracy,
                "intent_correct": report.intent_correct,
                "entity_f1": report.entity_f1,
            }
        return {"parses": parses, "scores": scores}
    finally:
        loop.close()


def parse_and_score(model: Path, texts: List[str], files: Dict[str, Path], log: Path) -> Dict:
    """`_parse_and_score` in a child process (jieba's dictionary is process-wide)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    log.parent.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    named = [(name, str(path)) for name, path in files.items()]
    with ProcessPoolExecutor(1, context, initializer=log_to, initargs=(str(log),)) as pool:
        return pool.submit(_parse_and_score, str(model), texts, named).result()


def config_with_seed(seed: int, path: Path) -> Path:
    """The shipped config with DIET's random_seed set to `seed`, written to `path`."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    diet = [c for c in config["pipeline"] if c["name"] == "DIETClassifier"]
    if len(diet) != 1:
        raise RuntimeError("config.yml: expected one DIETClassifier to seed")
    diet[0]["random_seed"] = seed
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def train_nlu(data: Path, out: Path, log: Path, seed: int, name: str) -> Tuple[Path, float]:
    """`rasa train nlu` with the shipped config (DIET seeded with `seed`) on `data`, with a
    fresh cache; the model and the seconds taken."""
    import os
    import subprocess

    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out.mkdir(parents=True, exist_ok=True)
    config = config_with_seed(seed, out / f"{name}.config.yml")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="inbox-cache-") as cache:
        env["RASA_CACHE_DIRECTORY"] = cache
        with log.open("w", encoding="utf-8") as sink:
            code = subprocess.run(
                [
                    str(Path(sys.executable).parent / "rasa"),
                    "train",
                    "nlu",
                    "--config",
                    str(config),
                    "--nlu",
                    str(data),
                    "--out",
                    str(out),
                    "--fixed-model-name",
                    name,
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
    if code:
        raise RuntimeError(f"rasa train nlu failed ({code}); see {log}")
    return out / f"{name}.tar.gz", time.perf_counter() - started


def trained_scores(
    data: Path, side: str, files: Dict[str, Path], scratch: Path, logs: Path
) -> Tuple[List[Dict], float]:
    """Per seed of SEEDS: the scores of a model trained on `data`; and the training seconds."""
    runs, seconds = [], 0.0
    for seed in SEEDS:
        name = f"{side}_{seed}"
        print(f"[inbox] training {name}", file=sys.stderr)
        model, took = train_nlu(
            data, scratch / "models", logs / f"inbox_train_{name}.log", seed, name
        )
        seconds += took
        runs.append(parse_and_score(model, [], files, logs / f"inbox_{name}.log")["scores"])
        model.unlink()
    return runs, seconds


def mean_scores(runs: Sequence[Dict]) -> Dict[str, Dict[str, float]]:
    """Per file, the mean over runs of intent accuracy, intents right and entity F1."""
    keys = ("intent_accuracy", "intent_correct", "entity_f1")
    return {
        name: {
            "total": runs[0][name]["total"],
            **{key: sum(run[name][key] for run in runs) / len(runs) for key in keys},
        }
        for name in runs[0]
    }


def shipped_model() -> Path:
    """The newest model in models/ (the one the NLU bench calls shipped)."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("no model in models/: run `make train` first")
    return models[-1]


def run(results_dir: Path, quick: bool = False) -> Path:
    """Runs the inbox benchmark and writes inbox.json into `results_dir` (quick: no
    retraining, so only the collection's figures)."""
    from evaluation.review_inbox.inbox import collect_review
    from evaluation.review_inbox.merge import merge

    started = time.perf_counter()
    logs = results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logged, fresh = split_families()
    ordinary = [(m.intent, m.text) for m in _holdout_examples()]
    utterances = [(intent, text) for _, intent, text in logged] + ordinary
    random.Random(SEED).shuffle(utterances)
    families = {text: name for name, _, text in logged}
    truth = {text: intent for intent, text in utterances}
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as scratch_name:
        scratch = Path(scratch_name)
        files = {"fresh": write_plain_nlu(fresh, scratch / "fresh.yml")}
        files.update({_label(p): p for p in held_out_files()})
        model = shipped_model()
        print(f"[inbox] {model.name}: parsing the log", file=sys.stderr)
        texts = [t for _, t in utterances] + [CORRECTION, HANDOFF, *RETRIES.values()]
        shipped = parse_and_score(model, texts, files, logs / "inbox_shipped.log")
        store = scratch / "tracker.db"
        fill_store(f"sqlite:///{store}", conversations(utterances, shipped["parses"]))
        review = scratch / "review.yml"
        collected = collect_review(f"sqlite:///{store}", review, top=50)
        shutil.copy(review, logs / "inbox_review_unlabelled.yml")
        found = review_as_operator(review, truth, families)
        shutil.copy(review, logs / "inbox_review_labelled.yml")
        data = scratch / "nlu"
        shutil.copytree(ROOT / "data" / "nlu", data)
        merged = merge(review, data)
        before_runs = after_runs = None
        train_seconds = None
        if not quick:
            base = scratch / "base"
            shutil.copytree(ROOT / "data" / "nlu", base)
            before_runs, took_before = trained_scores(base, "before", files, scratch, logs)
            after_runs, took_after = trained_scores(data, "after", files, scratch, logs)
            train_seconds = took_before + took_after
    section = _section(
        collected,
        found,
        merged,
        shipped,
        before_runs,
        after_runs,
        train_seconds,
        quick,
        time.perf_counter() - started,
    )
    path = results_dir / "inbox.json"
    path.write_text(json.dumps(section, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _holdout_examples() -> List[Any]:
    """The project's held-out utterances, the log's ordinary traffic (read, never trained)."""
    from bench.nlu_bench import load_examples

    return load_examples(ROOT / "tests" / "nlu_holdout.yml")


def _label(path: Path) -> str:
    return path.stem if path.parent == ROOT / "tests" else f"shared/{path.stem}"


def not_lower(before: Dict, after: Dict, names: Sequence[str]) -> bool:
    """Whether, on every named file, the mean intents right and the mean entity F1 after are at
    least those before."""
    return all(
        after[name]["intent_correct"] >= before[name]["intent_correct"] - 1e-9
        and after[name]["entity_f1"] >= before[name]["entity_f1"] - 1e-9
        for name in names
    )


def _per_seed(runs: Optional[Sequence[Dict]], name: str) -> str:
    return " / ".join(str(run[name]["intent_correct"]) for run in runs) if runs else "–"


def _section(
    collected: Any,
    found: Dict,
    merged: Any,
    shipped: Dict,
    before_runs: Optional[List[Dict]],
    after_runs: Optional[List[Dict]],
    train_seconds: Optional[float],
    quick: bool,
    seconds: float,
) -> Dict[str, Any]:
    """inbox.json (bench/report.py's section format)."""
    recovery = []
    for name, holders in found.items():
        ranks = sorted({rank for rank, _, _ in holders})
        one = len(ranks) == 1 and ranks[0] <= TOP
        recovery.append(
            [
                name,
                FAMILIES[name][0],
                ranks[0] if ranks else None,
                len(ranks),
                "yes" if one else "no",
            ]
        )
    before = mean_scores(before_runs) if before_runs else None
    after = mean_scores(after_runs) if after_runs else None
    scores = []
    for name, got in shipped["scores"].items():
        scores.append(
            [
                name,
                got["total"],
                got["intent_accuracy"],
                before and round(before[name]["intent_accuracy"], 4),
                after and round(after[name]["intent_accuracy"], 4),
                _per_seed(before_runs, name),
                _per_seed(after_runs, name),
                before and round(before[name]["entity_f1"], 4),
                after and round(after[name]["entity_f1"], 4),
            ]
        )
    held = [name for name in shipped["scores"] if name != "fresh"]
    fresh_after = after["fresh"]["intent_accuracy"] if after else None
    verdict = "–" if not (before and after) else "yes" if not_lower(before, after, held) else "no"
    seeds = ", ".join(str(seed) for seed in SEEDS)
    notes = [
        f"{len(FAMILIES)} planted families of unseen phrasings ({LOGGED} logged each, the rest "
        f"fresh), among {len(_holdout_examples())} ordinary turns (tests/nlu_holdout.yml), "
        "parsed by the shipped model into a SQLite tracker store written by Rasa's "
        "SQLTrackerStore; the simulated user corrects a wrong answer (不是这个意思) and "
        f"tries again, or every {GIVE_UP_EVERY}rd time asks for a person.",
        f"Collected {collected.collected} of {collected.turns} turns into {collected.groups} "
        f"groups; the operator is simulated (a group mostly of one family gets its intent).",
        f"Merged {sum(merged.written.values())} examples; left out as evaluation utterances: "
        f"{len(merged.in_evaluation)}, already known: {merged.already_known}.",
        f"Before (data/nlu) and after (data/nlu + the reviewed file) are each trained with "
        f"`rasa train nlu`, a fresh cache and DIET seeds {seeds}; accuracies are their means, "
        "the per-seed columns their intents right.",
        f"Fresh samples after retraining: "
        f"{round(fresh_after, 4) if fresh_after is not None else '–'} (target ≥ {TARGET}); "
        f"held-out files no lower (mean intents right and entity F1): {verdict}."
        + (" Quick run: no retraining." if quick else ""),
        f"Run time {seconds:.0f} s (training {train_seconds or 0:.0f} s).",
    ]
    return {
        "title": "Review inbox: learning from misunderstood turns",
        "tables": [
            {
                "caption": f"Each planted family: the rank of the group holding it (one group "
                f"in the top {TOP} wanted)",
                "columns": ["family", "intent", "rank", "groups", f"one group in top {TOP}"],
                "rows": recovery,
            },
            {
                "caption": "Intent accuracy and entity F1: the shipped model, then the mean of "
                f"the models trained on data/nlu (before) and on data/nlu + the reviewed file "
                f"(after), seeds {seeds}",
                "columns": [
                    "file",
                    "utterances",
                    "shipped",
                    "before",
                    "after",
                    "right before, per seed",
                    "right after, per seed",
                    "entity F1 before",
                    "entity F1 after",
                ],
                "rows": scores,
            },
        ],
        "notes": notes,
        "data": {
            "families": {n: {"intent": i, "texts": t} for n, (i, t) in FAMILIES.items()},
            "found": found,
            "written": merged.written,
            "seeds": list(SEEDS),
            "shipped": shipped["scores"],
            "before": before_runs,
            "after": after_runs,
            "train_seconds": train_seconds,
        },
    }
