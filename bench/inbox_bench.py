"""Review inbox benchmark: does the loop from misunderstood turns to training data work?

Plants families of unseen phrasings (hand-written here, one new way of saying one intent
each) among ordinary turns, logs them through the shipped model into a SQL tracker store
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
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261206
# Examples of each family written to the log; the rest are the fresh samples.
LOGGED = 7
# intent, then the family's phrasings (a new word or turn of phrase shared by all of them).
FAMILIES: Dict[str, Tuple[str, List[str]]] = {
    # A contract word the training data never uses (the model reads it as a legal question).
    "扣款协议": (
        "cancel_subscription",
        ["把扣款协议解除掉", "扣款协议我不签了", "解除那个扣款协议", "扣款协议给我撤销",
         "我要撤掉自动扣款协议", "视频会员的扣款协议解掉", "扣款协议能不能解除",
         "帮我解除扣款协议吧", "那个扣款协议撤了", "扣款协议不要了解除它",
         "音乐会员扣款协议解除一下", "请解除我的扣款协议"],
    ),
    # Pinyin typed without choosing characters (a feature phone, a hurried SMS).
    "quxiao": (
        "cancel_subscription",
        ["quxiao huiyuan", "wo yao quxiao zidong xufei", "bang wo quxiao", "quxiao baoyue",
         "quxiao vip", "zenme quxiao", "kuaidian quxiao", "quxiao tengxun", "quxiao le ba",
         "quxiao aiqiyi", "mashang quxiao", "quxiao xufei"],
    ),
    "chaxun": (
        "check_subscription",
        ["chaxun huiyuan", "wo de huiyuan chaxun", "chaxun wo de baoyue", "bang wo chaxun",
         "chaxun yixia", "chaxun dingyue", "chaxun kaitong de", "xiang chaxun huiyuan",
         "chaxun zidong xufei", "chaxun quanbu", "kuaidian chaxun", "chaxun wo kaile sha"],
    ),
    "kouqian": (
        "report_unexpected_charge",
        ["zenme you kouqian le", "mingmiao kouqian", "bei kouqian le", "luan kouqian",
         "kouqian bu zhidao", "wei shenme kouqian", "you kouqian", "tou tou kouqian",
         "kouqian le ya", "shui kouqian le", "kouqian tai duo", "zai kouqian le"],
    ),
    # English, from a user who does not write Chinese.
    "memberships": (
        "check_subscription",
        ["what memberships do I have", "show me my memberships", "list my memberships",
         "which memberships are active", "do I have any memberships", "check my memberships",
         "what memberships am I paying for", "tell me my memberships",
         "any active memberships on my number", "my memberships please", "show all memberships",
         "how many memberships do I have"],
    ),
}  # fmt: skip
# How a simulated user tries again after each kind of failure (parsed by the model too).
CORRECTION = "不是这个意思"
HANDOFF = "转人工"
RETRIES = {
    "cancel_subscription": "取消自动续费",
    "check_subscription": "查一下我开了哪些会员",
    "report_unexpected_charge": "怎么还在扣我钱",
}
# Every third misunderstood user gives up and asks for a person instead of trying again.
GIVE_UP_EVERY = 3
TOP = 10
TARGET = 0.90


def split_families(seed: int = SEED) -> Tuple[List[Tuple[str, str, str]], List[Tuple[str, str]]]:
    """(family, intent, text) to log, and (intent, text) fresh samples, per family shuffled."""
    rng = random.Random(seed)
    logged, fresh = [], []
    for name, (intent, texts) in FAMILIES.items():
        order = list(texts)
        rng.shuffle(order)
        logged += [(name, intent, text) for text in order[:LOGGED]]
        fresh += [(intent, text) for text in order[LOGGED:]]
    return logged, fresh


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


def _log_to(path: str) -> None:
    """Sends a child process's output (TensorFlow chatter) to a log file."""
    import os

    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)


def parse_and_score(model: Path, texts: List[str], files: Dict[str, Path], log: Path) -> Dict:
    """`_parse_and_score` in a child process (jieba's dictionary is process-wide)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    log.parent.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("spawn")
    named = [(name, str(path)) for name, path in files.items()]
    with ProcessPoolExecutor(1, context, initializer=_log_to, initargs=(str(log),)) as pool:
        return pool.submit(_parse_and_score, str(model), texts, named).result()


def conversations(
    utterances: Sequence[Tuple[str, str]], parses: Dict[str, Dict], seed: int = SEED
) -> Dict[str, List]:
    """Tracker events of one conversation per (intent, text), as the bot would have run it.

    The model's parse decides: a fallback gets the bot's rephrase request, a wrong intent an
    answer the user corrects (不是这个意思); then the user tries again the usual way or, every
    GIVE_UP_EVERY-th time, asks for a person. A right parse gets an answer and ends there.
    """
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    def user(text: str, at: float) -> UserUttered:
        parse = parses[text]
        return UserUttered(
            text, parse.get("intent"), parse.get("entities"), parse_data=parse, timestamp=at
        )

    def bot(response: str, at: float, not_understood: bool = False) -> List:
        metadata = {
            "utter_action": response,
            "next": {"expects": None, "not_understood": not_understood},
        }
        return [
            ActionExecuted(response, timestamp=at),
            BotUttered("……", metadata=metadata, timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
        ]

    out: Dict[str, List] = {}
    misses = 0
    at = time.time() - 86_400
    rng = random.Random(seed)
    for n, (intent, text) in enumerate(utterances):
        at += rng.uniform(30, 300)
        events = [ActionExecuted("action_listen", timestamp=at), user(text, at)]
        got = (parses[text].get("intent") or {}).get("name")
        if got == intent:
            events += bot("utter_answer", at)
        else:
            if got == "nlu_fallback":
                events.insert(2, ActionExecuted("action_handle_fallback", timestamp=at))
                events += bot("utter_rephrase", at, not_understood=True)
            else:
                events += bot("utter_answer", at)
                events += [user(CORRECTION, at + 5), *bot("utter_how_can_help", at + 5)]
            misses += 1
            if misses % GIVE_UP_EVERY == 0 or intent not in RETRIES:
                events += [
                    user(HANDOFF, at + 10),
                    ActionExecuted("action_handoff", timestamp=at + 10),
                ]
            else:
                events += [user(RETRIES[intent], at + 10), *bot("utter_answer", at + 10)]
        out[f"bench-{n:04d}"] = events
    return out


def fill_store(url: str, conversations_: Dict[str, List]) -> None:
    """Saves the conversations through Rasa's SQLTrackerStore (its own schema)."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(domain=Domain.empty(), host=url)
    try:
        for sender, events in conversations_.items():
            asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    finally:
        store.engine.dispose()


def review_as_operator(review: Path, truth: Dict[str, str], families: Dict[str, str]) -> Dict:
    """Labels the review file as an operator would: a group whose examples mostly come from
    one family gets that family's intent (lines of other intents deleted); others discarded.
    Returns, per family, the ids of the groups holding its examples and its rank."""
    import yaml

    document = yaml.safe_load(review.read_text(encoding="utf-8"))
    found: Dict[str, List[Tuple[int, str, float]]] = {name: [] for name in FAMILIES}
    for rank, group in enumerate(document["groups"], start=1):
        names = Counter(families[e] for e in group["examples"] if e in families)
        for name, count in names.items():
            found[name].append((rank, group["id"], count / len(group["examples"])))
        top = names.most_common(1)
        if top and top[0][1] * 2 >= len(group["examples"]):
            intent = FAMILIES[top[0][0]][0]
            group["intent"] = intent
            group["examples"] = [e for e in group["examples"] if truth.get(e) == intent]
        else:
            group["discard"] = True
    review.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return found


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
    not_lower = after is not None and all(
        after["scores"][n]["intent_correct"] >= before["scores"][n]["intent_correct"]
        and after["scores"][n]["entity_f1"] >= before["scores"][n]["entity_f1"] - 1e-9
        for n, *_ in held
    )
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
        f"(target ≥ {TARGET}); held-out files no lower: {'yes' if not_lower else 'no'}."
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
