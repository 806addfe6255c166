"""`python -m bench.ab_speed --before REV [--after REV]`: CPU per turn of two commits, A/B.

Both commits are checked out side by side (git worktrees), each trains its own shipped model
and serves the "shipped, no parse cache" bot with its own code, and the same simulated
conversations run at one concurrency level. Rounds alternate the order (A B, B A, A B, ...) so
that a machine getting busier does not favour one side; the medians are compared. Writes
bench/results/ab_speed.json and ab_speed.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from bench import report

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEPT = ("cpu_ms_per_turn", "turns", "turns_per_s", "p50_ms", "p99_ms", "errors", "cpu_s")
# Runs inside one commit's checkout, with that checkout first on sys.path: its own bench code
# starts its own servers (the two commits' bench helpers differ, this call is common to both).
MEASURE = r"""
import asyncio, json, sys
from pathlib import Path
from bench import servers, speed_bench
from bench.speed_plan import PHONES, WARMUP_S
model, work, c, seconds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
no_cache = {"PARSE_CACHE_SIZE": "0"}
with servers.Servers(model, work, extra_phones=PHONES, env_overrides=no_cache) as bot:
    asyncio.run(speed_bench.load(bot, 8, WARMUP_S[False], "warmup"))
    level = speed_bench.run_level(bot, c, seconds)
print("AB-RESULT " + json.dumps({k: level.get(k) for k in sys.argv[5].split(",")}))
"""


def _env(tree: Path) -> Dict[str, str]:
    """This process's environment with `tree` first on the import path (before the editable
    install of the main checkout)."""
    return {**os.environ, "PYTHONPATH": str(tree), "RASA_TELEMETRY_ENABLED": "false"}


def checkout(rev: str, where: Path) -> Path:
    """A detached worktree of `rev` at `where`."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(where), rev],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return where


def alternating(run: int) -> Tuple[str, str]:
    """The order of the sides in a run: A B, then B A, ... (a machine getting busier
    favours neither)."""
    return ("before", "after") if run % 2 == 0 else ("after", "before")


def short_revs(before: str, after: str) -> Dict[str, str]:
    """The two commits' short hashes, by side."""
    return {
        side: subprocess.run(
            ["git", "rev-parse", "--short", rev],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        for side, rev in (("before", before), ("after", after))
    }


@contextlib.contextmanager
def worktrees(revs: Dict[str, str], work: Path) -> Iterator[Dict[str, Path]]:
    """A detached checkout of each side's commit under `work`, removed afterwards."""
    trees: Dict[str, Path] = {}
    try:
        for side, rev in revs.items():
            trees[side] = checkout(rev, work / side)
        yield trees
    finally:
        for tree in trees.values():
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True
            )


def train(tree: Path, out: Path) -> Path:
    """The tree's shipped model, trained with its own code and data."""
    cmd = [str(BIN / "rasa"), "train", "--out", str(out), "--fixed-model-name", "shipped"]
    log = out / "train.log"
    out.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        done = subprocess.run(cmd, cwd=tree, env=_env(tree), stdout=handle, stderr=handle)
    model = out / "shipped.tar.gz"
    if done.returncode != 0 or not model.exists():
        raise RuntimeError(f"training in {tree} failed; see {log}")
    return model


def measure(tree: Path, model: Path, work: Path, concurrency: int, seconds: float) -> Dict:
    """One start of the tree's no-cache bot and one measured level."""
    work.mkdir(parents=True, exist_ok=True)
    args = [str(model), str(work), str(concurrency), str(seconds), ",".join(KEPT)]
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *args],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("AB-RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("AB-RESULT ") :])


def summary(runs: List[Dict[str, Any]]) -> Dict[str, float]:
    """Medians of the runs' CPU per turn, throughput and latency."""
    keys = ("cpu_ms_per_turn", "turns_per_s", "p50_ms", "p99_ms")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def markdown(data: Dict[str, Any]) -> str:
    """The A/B as a short Markdown report."""
    a, b = data["before"], data["after"]
    change = 100 * (b["median"]["cpu_ms_per_turn"] / a["median"]["cpu_ms_per_turn"] - 1)
    rows = [
        f"# A/B: CPU per turn, {data['before_rev']} → {data['after_rev']}",
        "",
        f"Bot: shipped, no parse cache; {data['concurrency']} concurrent simulated "
        f"conversations, {data['seconds']:.0f} s measured per run, {data['runs']} runs per side "
        "in alternating order, each side its own checkout, model and servers.",
        "",
        "| side | CPU ms/turn (median) | runs | turns/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, side in (("before", a), ("after", b)):
        cpu = ", ".join(f"{r['cpu_ms_per_turn']:.2f}" for r in side["runs"])
        m = side["median"]
        rows.append(
            f"| {name} ({data[name + '_rev']}) | {m['cpu_ms_per_turn']:.2f} | {cpu} | "
            f"{m['turns_per_s']:.1f} | {m['p50_ms']:.0f} | {m['p99_ms']:.0f} |"
        )
    verdict = "within" if change <= data["limit_pct"] else "OVER"
    rows += ["", f"CPU per turn {change:+.1f} % ({verdict} the {data['limit_pct']:.0f} % budget)."]
    return "\n".join(rows) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the A/B and writes its report; exit 1 when the change is over the budget."""
    parser = argparse.ArgumentParser(prog="python -m bench.ab_speed", description=__doc__)
    parser.add_argument("--before", required=True, help="the commit before the change")
    parser.add_argument("--after", default="HEAD", help="the change (default HEAD)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--limit-pct", type=float, default=10.0)
    parser.add_argument("--results", type=Path, default=report.RESULTS_DIR)
    args = parser.parse_args(argv)
    revs = short_revs(args.before, args.after)
    data: Dict[str, Any] = {
        "before_rev": revs["before"],
        "after_rev": revs["after"],
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "runs": args.runs,
        "limit_pct": args.limit_pct,
    }
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        work = Path(tmp)
        with worktrees(revs, work) as trees:
            models = {side: train(tree, work / f"models-{side}") for side, tree in trees.items()}
            results: Dict[str, List[Dict]] = {"before": [], "after": []}
            for i in range(args.runs):
                for side in alternating(i):
                    run = measure(
                        trees[side],
                        models[side],
                        work / f"run-{side}-{i}",
                        args.concurrency,
                        args.seconds,
                    )
                    results[side].append(run)
                    print(
                        f"[ab] {side} run {i + 1}: {run['cpu_ms_per_turn']:.2f} ms CPU/turn",
                        file=sys.stderr,
                    )
    for side in ("before", "after"):
        data[side] = {"runs": results[side], "median": summary(results[side])}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ab_speed.json").write_text(json.dumps(data, indent=1))
    text = markdown(data)
    (args.results / "ab_speed.md").write_text(text, encoding="utf-8")
    print(text)
    change = (
        data["after"]["median"]["cpu_ms_per_turn"] / data["before"]["median"]["cpu_ms_per_turn"]
    )
    return 0 if change <= 1 + args.limit_pct / 100 else 1


if __name__ == "__main__":
    sys.exit(main())
