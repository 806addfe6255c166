"""Review inbox benchmark: does the loop from misunderstood turns to training data work?

Plants families of unseen phrasings (bench/inbox_families.py, one new way of saying one
intent each) among ordinary turns, logs them through the shipped model into a SQL tracker store
shaped as Rasa's, collects the review file (evaluation/review_inbox), labels each group as an
operator would (a group is given the intent of the family most of its examples come from;
groups of ordinary turns are discarded), merges into a copy of data/nlu, retrains the NLU
with the shipped config and compares, before and after: accuracy on fresh samples of the
families (never logged) and on the held-out files. Writes inbox.json.
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


def train_nlu(data: Path, out: Path, log: Path) -> Tuple[Path, float]:
    """`rasa train nlu` with the shipped config on `data`; the model and the seconds taken."""
    import os
    import subprocess

    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
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
                    str(ROOT / "config.yml"),
                    "--nlu",
                    str(data),
                    "--out",
                    str(out),
                    "--fixed-model-name",
                    "after",
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
    if code:
        raise RuntimeError(f"rasa train nlu failed ({code}); see {log}")
    return out / "after.tar.gz", time.perf_counter() - started


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
        print(f"[inbox] {model.name}: parsing the log, scoring before", file=sys.stderr)
        texts = [t for _, t in utterances] + [CORRECTION, HANDOFF, *RETRIES.values()]
        before = parse_and_score(model, texts, files, logs / "inbox_before.log")
        store = scratch / "tracker.db"
        fill_store(f"sqlite:///{store}", conversations(utterances, before["parses"]))
        review = scratch / "review.yml"
        collected = collect_review(f"sqlite:///{store}", review, top=50)
        shutil.copy(review, logs / "inbox_review_unlabelled.yml")
        found = review_as_operator(review, truth, families)
        shutil.copy(review, logs / "inbox_review_labelled.yml")
        data = scratch / "nlu"
        shutil.copytree(ROOT / "data" / "nlu", data)
        merged = merge(review, data)
        after, train_seconds = None, None
        if not quick:
            print("[inbox] retraining on data/nlu + the reviewed file", file=sys.stderr)
            path, train_seconds = train_nlu(data, scratch / "models", logs / "inbox_train.log")
            after = parse_and_score(path, [], files, logs / "inbox_after.log")
    section = _section(
        collected, found, merged, before, after, train_seconds, quick, time.perf_counter() - started
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


def _not_lower(before: Dict, after: Dict, held: List[List[Any]]) -> bool:
    """Whether every held-out file has as many intents right, and an entity F1 as high."""
    return all(
        after["scores"][name]["intent_correct"] >= before["scores"][name]["intent_correct"]
        and after["scores"][name]["entity_f1"] >= before["scores"][name]["entity_f1"] - 1e-9
        for name, *_ in held
    )


def _section(
    collected: Any,
    found: Dict,
    merged: Any,
    before: Dict,
    after: Optional[Dict],
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
    scores = []
    for name in before["scores"]:
        b = before["scores"][name]
        a = after["scores"][name] if after else None
        scores.append(
            [
                name,
                b["total"],
                b["intent_accuracy"],
                a and a["intent_accuracy"],
                b["entity_f1"],
                a and a["entity_f1"],
            ]
        )
    fresh_after = after["scores"]["fresh"]["intent_accuracy"] if after else None
    held = [row for row in scores if row[0] != "fresh"]
    verdict = "–" if after is None else "yes" if _not_lower(before, after, held) else "no"
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
        f"Fresh samples after retraining: {fresh_after if fresh_after is not None else '–'} "
        f"(target ≥ {TARGET}); held-out files no lower: {verdict}."
        + (" Quick run: no retraining." if quick else ""),
        f"Run time {seconds:.0f} s (retraining {train_seconds or 0:.0f} s).",
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
                "caption": "Intent accuracy and entity F1 before (shipped model) and after "
                "retraining on data/nlu + the reviewed file",
                "columns": [
                    "file",
                    "utterances",
                    "accuracy before",
                    "accuracy after",
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
            "before": before["scores"],
            "after": after and after["scores"],
            "train_seconds": train_seconds,
        },
    }
