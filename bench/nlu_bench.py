"""NLU benchmark: the shipped model and its baselines on the held-out files and perturbations.

Systems: the shipped model (latest in models/), (a) stock Rasa with whitespace tokens,
(b) keyword rules, (c) the shipped pipeline without the custom dictionary and normaliser,
and (c1, c2) without only one of them. Trained baselines are trained here on data/ only
(never on a held-out file); each Rasa model is evaluated in its own process, because
jieba's dictionary is process-wide and the shipped model adds the catalog to it.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from bench.baselines import configs
from bench.nlu_metrics import score_file
from bench.perturb import KINDS, SOUND_KINDS, Entity, Example, homophone_table, perturb_all
from bench.sound_alike import sound_changes

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT.parent / "shared" / "eval"
SEED = 20261125
# name → label in tables; the order of rows in the report.
SYSTEMS = {
    "shipped": "shipped",
    "stock_whitespace": "(a) stock whitespace",
    "keywords": "(b) keyword rules",
    "ablation": "(c) no dictionary, no normaliser",
    "no_normalizer": "(c1) no normaliser",
    "no_dictionary": "(c2) no dictionary",
}
# What a trained baseline depends on besides its config (for reusing kept models).
FINGERPRINT_SOURCES = ("data", "nlu", "catalog", "bench/baselines/isolated_entities.py")
# Subsets whose respelt characters are counted by confusion type (tone, 平翘舌, ...).
SOUND_SUBSETS = ("homophones", *SOUND_KINDS)


@dataclass
class Dataset:
    """A labelled file to evaluate on; `sources` are its examples' indices in the pool.

    `changes` (sound subsets only) lists, per example in file order, the confusion type of
    every respelt character. A `separate` file is scored on its own, outside the pooled
    held-out figures.
    """

    name: str
    path: Path
    sources: List[int]
    perturbation: Optional[str] = None
    changes: List[List[str]] = field(default_factory=list)
    separate: bool = False


def hand_written_files() -> List[Path]:
    """Held-out files scored on their own: not pooled into the held-out figures and not
    perturbed (the sound-alike utterances written by hand for issue 15)."""
    return [path for path in (ROOT / "tests" / "nlu_sound_alikes.yml",) if path.exists()]


def held_out_files() -> List[Path]:
    """The project's held-out file and the shared evaluation files (as the accuracy gates)."""
    files = [ROOT / "tests" / "nlu_holdout.yml"]
    if EVAL_DIR.is_dir():
        files += sorted(EVAL_DIR.glob("*.yml"))
    return files


def load_examples(path: Path) -> List[Example]:
    """The intent examples of an NLU file or folder."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [
        Example(
            text=m.get("text"),
            intent=m.get("intent"),
            entities=tuple(
                Entity(e["start"], e["end"], e["entity"], str(e["value"]))
                for e in sorted(m.get("entities") or [], key=lambda e: e["start"])
            ),
        )
        for m in load_data(str(path)).intent_examples
    ]


def annotate(example: Example) -> str:
    """The example in Rasa's YAML markup, every entity with its value spelled out."""
    parts, last = [], 0
    for e in example.entities:
        meta = json.dumps({"entity": e.entity, "value": e.value}, ensure_ascii=False)
        parts += [example.text[last : e.start], f"[{example.text[e.start : e.end]}]{meta}"]
        last = e.end
    return "".join(parts) + example.text[last:]


def write_nlu_yaml(examples: Sequence[Example], path: Path) -> List[int]:
    """Writes the examples grouped by intent; returns their positions in file order.

    Rasa's reader merges repeated texts and may misread markup characters in a text, so a
    repeated text is written once and an example that does not load back identically is
    left out.
    """
    first: Dict[str, int] = {}
    for i, example in enumerate(examples):
        first.setdefault(example.text, i)
    keep = sorted(first.values())
    for _ in range(2):
        by_intent: Dict[str, List[int]] = {}
        for i in keep:
            by_intent.setdefault(examples[i].intent, []).append(i)
        lines = ['version: "3.1"', "nlu:"]
        for intent, positions in by_intent.items():
            lines += [f"- intent: {intent}", "  examples: |"]
            lines += [f"    - {annotate(examples[i])}" for i in positions]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        order = [i for positions in by_intent.values() for i in positions]
        loaded = load_examples(path)
        if loaded == [examples[i] for i in order]:
            return order
        readable = {example.text: example for example in loaded}
        keep = [i for i in order if readable.get(examples[i].text) == examples[i]]
    raise RuntimeError(f"{path}: perturbed examples do not round-trip through Rasa's reader")


def build_datasets(out_dir: Path, seed: int = SEED) -> Tuple[List[Dataset], List[Example]]:
    """The held-out files, one perturbed file per kind made from their pooled examples, and
    the separately scored hand-written files."""
    datasets, pool = [], []
    for path in held_out_files():
        examples = load_examples(path)
        name = path.stem if path.parent == ROOT / "tests" else f"shared/{path.stem}"
        datasets.append(Dataset(name, path, list(range(len(pool), len(pool) + len(examples)))))
        pool += examples
    table = homophone_table(e.text for e in load_examples(ROOT / "data" / "nlu"))
    for kind in KINDS:
        subset = perturb_all(pool, kind, seed, table)
        path = out_dir / "nlu_subsets" / f"{kind}.yml"
        order = write_nlu_yaml([example for _, example in subset], path)
        sources = [subset[i][0] for i in order]
        changes = (
            [sound_changes(pool[subset[i][0]].text, subset[i][1].text) for i in order]
            if kind in SOUND_SUBSETS
            else []
        )
        datasets.append(Dataset(kind, path, sources, kind, changes))
    for path in hand_written_files():  # after the perturbations: they never draw from these
        examples = load_examples(path)
        sources = list(range(len(pool), len(pool) + len(examples)))
        datasets.append(Dataset(path.stem, path, sources, separate=True))
        pool += examples
    return datasets, pool


def fingerprint(config_text: str) -> str:
    """A short hash of a config and everything a trained model depends on."""
    digest = hashlib.sha256(config_text.encode())
    for source in FINGERPRINT_SOURCES:
        top = ROOT / source
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".py"):
                digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _rasa(args: List[str], log: Path, cache: Path, check: bool = True) -> Tuple[float, int]:
    """Runs a `rasa` command from the repository root; returns wall seconds and exit code."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["RASA_CACHE_DIRECTORY"] = str(cache)  # a fresh cache: every training is a full one
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
        ).returncode  # fmt: skip
    if code and check:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"rasa {' '.join(args)} failed ({code}); see {log}:\n{tail}")
    return time.perf_counter() - started, code


def train_baseline(
    name: str, config: Dict[str, Any], models_dir: Path, logs_dir: Path
) -> Tuple[Path, float, bool]:
    """Trains `rasa train nlu` with `config`; reuses a model of the same fingerprint."""
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    model_name = f"{name}-{fingerprint(text)}"
    model, meta = models_dir / f"{model_name}.tar.gz", models_dir / f"{model_name}.json"
    if model.exists() and meta.exists():
        return model, json.loads(meta.read_text())["train_seconds"], True
    config_path = configs.write_config(config, logs_dir / f"config_{name}.yml")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        seconds, _ = _rasa(
            ["train", "nlu", "--config", str(config_path), "--nlu", "data",
             "--out", str(models_dir), "--fixed-model-name", model_name],
            logs_dir / f"train_{name}.log", Path(cache),
        )  # fmt: skip
    meta.write_text(json.dumps({"train_seconds": seconds}))
    return model, seconds, False


def shipped_model(logs_dir: Path) -> Tuple[Path, Optional[float], bool]:
    """The newest model in models/ (trained if none), its training time, whether it is stale."""

    def newest() -> List[Path]:
        return sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)

    seconds: Optional[float] = None
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        if not newest():
            seconds, _ = _rasa(["train", "--out", "models"], logs_dir / "train_shipped.log",
                               Path(cache))  # fmt: skip
        # Rasa's own fingerprints tell whether config or data changed since it was trained.
        _, code = _rasa(["train", "--dry-run", "--out", "models"],
                        logs_dir / "dry_run_shipped.log", Path(cache), check=False)  # fmt: skip
    return newest()[-1], seconds, code != 0


def score_all(
    parse: Callable[[str], Dict[str, Any]], datasets: Sequence[Tuple[str, str]]
) -> Dict[str, Any]:
    """Scores of one parser on every dataset, its median parse time (wall clock) and its mean
    CPU time per parse (the process's, all threads: what `bench.ab_parse` compares)."""
    timings: List[float] = []
    cpu: List[float] = []

    def timed(text: str) -> Dict[str, Any]:
        started, started_cpu = time.perf_counter(), time.process_time()
        result = parse(text)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        return result

    scores = {name: score_file(Path(path), timed) for name, path in datasets}
    return {
        "datasets": scores,
        "ms_per_parse": 1000 * statistics.median(timings),
        "cpu_ms_per_parse": 1000 * statistics.fmean(cpu),
    }


def _score_model(model: str, datasets: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """Loads a Rasa model and scores it (runs in a fresh process)."""
    import asyncio
    import logging

    warnings.filterwarnings("ignore")
    import jieba
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # else every parse is logged at debug level
    logging.getLogger("rasa").setLevel(logging.ERROR)
    jieba.setLogLevel(logging.WARNING)

    agent = Agent.load(model)
    loop = asyncio.new_event_loop()
    try:
        return score_all(lambda text: loop.run_until_complete(agent.parse_message(text)), datasets)
    finally:
        loop.close()


def log_to(path: str) -> None:
    """Sends the child process's output (TensorFlow and library chatter) to a log file."""
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)


def score_model(model: Path, datasets: Sequence[Dataset], log: Path) -> Dict[str, Any]:
    """Scores a Rasa model in a child process, so its jieba state stays its own."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    log.parent.mkdir(parents=True, exist_ok=True)
    files = [(d.name, str(d.path)) for d in datasets]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, context, initializer=log_to, initargs=(str(log),)) as pool:
        return pool.submit(_score_model, str(model), files).result()


def run(results_dir: Path, quick: bool = False, models_dir: Optional[Path] = None) -> Path:
    """Runs the NLU benchmark and writes nlu.json and its plots into `results_dir`."""
    from bench.baselines.keywords import KeywordNLU
    from bench.nlu_section import write_section

    results_dir.mkdir(parents=True, exist_ok=True)
    logs = results_dir / "logs"
    datasets, _ = build_datasets(results_dir)
    runs: Dict[str, Dict[str, Any]] = {}
    failed: Dict[str, str] = {}
    model, seconds, stale = shipped_model(logs)
    print(f"[nlu] shipped model {model.name}: scoring", file=sys.stderr)
    runs["shipped"] = score_model(model, datasets, logs / "score_shipped.log")
    runs["shipped"].update(train_seconds=seconds, model=model.name, stale=stale)
    runs["keywords"] = score_all(KeywordNLU().parse, [(d.name, d.path) for d in datasets])
    runs["keywords"]["train_seconds"] = None  # nothing to train
    if not quick:
        shipped_config = configs.load_config(ROOT / "config.yml")
        plans = {"stock_whitespace": configs.load_config(configs.STOCK_CONFIG)}
        for name, (no_norm, no_dict) in configs.ABLATIONS.items():
            plans[name] = configs.ablation_config(shipped_config, no_norm, no_dict)
        with tempfile.TemporaryDirectory(prefix="bench-models-") as scratch:
            target = models_dir or Path(scratch)
            target.mkdir(parents=True, exist_ok=True)
            for name, config in plans.items():
                print(f"[nlu] {name}: training", file=sys.stderr)
                try:
                    path, seconds, reused = train_baseline(name, config, target, logs)
                except RuntimeError as exc:  # one broken baseline must not hide the others
                    print(f"[nlu] {name}: {exc}", file=sys.stderr)
                    failed[name] = f"training failed, see `logs/train_{name}.log`"
                    continue
                configs.write_config(config, logs / f"config_{name}.yml")
                print(f"[nlu] {name}: scoring", file=sys.stderr)
                runs[name] = score_model(path, datasets, logs / f"score_{name}.log")
                runs[name].update(train_seconds=seconds, reused_model=reused)
    path = write_section(results_dir, datasets, SYSTEMS, runs, quick, SEED, failed)
    if failed:
        raise RuntimeError(f"baselines failed: {failed}")
    return path
