"""`python -m bench.ab_parse --before REV [--after REV]`: NLU parse time per message, A/B.

Both commits are checked out side by side (git worktrees, as `bench.ab_speed` does), each
trains its own shipped model with its own code, and the same messages (the held-out files of
the checkout this runs from) are parsed by each side's model in its own process: one warm-up
pass, then `--passes` measured passes, CPU time per message. Rounds alternate the order
(A B, B A, ...) so that a machine getting busier does not favour one side; the medians are
compared. No parse cache: every message runs the whole pipeline. Writes
bench/results/ab_parse.json and ab_parse.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import report
from bench.ab_speed import ROOT, _env, alternating, short_revs, train, worktrees
from bench.nlu_bench import load_examples

# Runs inside one commit's checkout: that commit's components load its model.
MEASURE = r"""
import asyncio, json, logging, sys, time
logging.disable(logging.WARNING)
from rasa.core.agent import Agent
model, texts, passes = sys.argv[1], json.loads(open(sys.argv[2]).read()), int(sys.argv[3])
agent = Agent.load(model)
async def run():
    for text in texts:
        await agent.parse_message(text)
    start = time.process_time()
    for _ in range(passes):
        for text in texts:
            await agent.parse_message(text)
    return (time.process_time() - start) * 1000 / (passes * len(texts))
print("AB-RESULT " + json.dumps({"cpu_ms_per_parse": asyncio.run(run())}))
"""
HELD_OUT = ("tests/nlu_holdout.yml", "tests/nlu_sound_alikes.yml")


def messages() -> List[str]:
    """The held-out utterances both sides parse (the shared dev file too, when it is there)."""
    paths = [ROOT / p for p in HELD_OUT] + sorted((ROOT.parent / "shared" / "eval").glob("*.yml"))
    return [e.text for path in paths if path.exists() for e in load_examples(path)]


def measure(tree: Path, model: Path, texts: Path, passes: int) -> float:
    """CPU milliseconds per parse of the tree's model over the messages."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(model), str(texts), str(passes)],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("AB-RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    return float(json.loads(lines[-1][len("AB-RESULT ") :])["cpu_ms_per_parse"])


def markdown(data: Dict[str, Any]) -> str:
    """The A/B as a short Markdown report."""
    a, b = data["before"], data["after"]
    change = 100 * (b["median"] / a["median"] - 1)
    verdict = "within" if change <= data["limit_pct"] else "OVER"
    rows = [
        f"# A/B: NLU parse time per message, {data['before_rev']} → {data['after_rev']}",
        "",
        f"{data['messages']} held-out messages, {data['passes']} measured passes after a warm-up "
        f"pass, {data['runs']} runs per side in alternating order; each side its own checkout, "
        "model and process; CPU time, no parse cache.",
        "",
        "| side | CPU ms/parse (median) | runs |",
        "|---|---|---|",
    ]
    for name, side in (("before", a), ("after", b)):
        runs = ", ".join(f"{r:.3f}" for r in side["runs"])
        rows.append(f"| {name} ({data[name + '_rev']}) | {side['median']:.3f} | {runs} |")
    rows += ["", f"Parse time {change:+.1f} % ({verdict} the {data['limit_pct']:.0f} % budget)."]
    return "\n".join(rows) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the A/B and writes its report; exit 1 when the change is over the budget."""
    parser = argparse.ArgumentParser(prog="python -m bench.ab_parse", description=__doc__)
    parser.add_argument("--before", required=True, help="the commit before the change")
    parser.add_argument("--after", default="HEAD", help="the change (default HEAD)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--limit-pct", type=float, default=15.0)
    parser.add_argument("--results", type=Path, default=report.RESULTS_DIR)
    args = parser.parse_args(argv)
    revs = short_revs(args.before, args.after)
    texts = messages()
    results: Dict[str, List[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench-ab-parse-") as tmp:
        work = Path(tmp)
        (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        with worktrees(revs, work) as trees:
            models = {side: train(tree, work / f"models-{side}") for side, tree in trees.items()}
            for i in range(args.runs):
                for side in alternating(i):
                    ms = measure(trees[side], models[side], work / "texts.json", args.passes)
                    results[side].append(ms)
                    print(f"[ab-parse] {side} run {i + 1}: {ms:.3f} ms CPU/parse", file=sys.stderr)
    data: Dict[str, Any] = {
        "before_rev": revs["before"],
        "after_rev": revs["after"],
        "messages": len(texts),
        "passes": args.passes,
        "runs": args.runs,
        "limit_pct": args.limit_pct,
        **{
            side: {"runs": runs, "median": statistics.median(runs)}
            for side, runs in results.items()
        },
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ab_parse.json").write_text(json.dumps(data, indent=1))
    text = markdown(data)
    (args.results / "ab_parse.md").write_text(text, encoding="utf-8")
    print(text)
    return (
        0 if data["after"]["median"] <= data["before"]["median"] * (1 + args.limit_pct / 100) else 1
    )


if __name__ == "__main__":
    sys.exit(main())
