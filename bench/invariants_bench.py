"""Invariants over random conversations at a larger size than `make test`: every violation
counted by kind (not stopping at the first), the shortest sequence of each kind shown.

`python -m bench.run --only invariants` (INVARIANT_BENCH_EXAMPLES overrides the size).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from evaluation.invariants import checks
from evaluation.invariants.runner import Run, Runner
from evaluation.invariants.search import Survey, survey
from evaluation.invariants.server import clocked_served

EXAMPLES = {False: 2000, True: 200}
MAX_MOVES = 16
SEED = 2026
EFFECTS = ("cancellations", "refund_cases", "tickets", "sms")


def section(found: Survey, seconds: float, runner: Runner) -> Dict[str, Any]:
    """The report section: totals, violations by kind, the shortest sequence of each kind."""
    runs = found.runs
    turns = sum(run.turns for run in runs)
    failing = sum(1 for run in runs if run.violations)
    by_kind: Dict[str, List[int]] = {kind: [0, 0] for kind in checks.KINDS}
    for run in runs:
        for violation in run.violations:
            by_kind[violation.kind][0] += 1
        for kind in {v.kind for v in run.violations}:
            by_kind[kind][1] += 1
    effects = {name: sum(run.effects[name] for run in runs) for name in EFFECTS}
    notes = [
        "Sequences drawn by hypothesis from the NLU training examples of every intent, the "
        "sequence's own, another holder's, an unknown and invalid numbers, right and wrong "
        "codes, noise and conversation switches; each on a clock moved two days on and "
        "freshly seeded holders. Checks read the tracker's response names (turns/).",
        f"REST rate-limit waits: {runner.rate_waits}.",
    ]
    for kind, run in sorted(found.shortest.items()):
        notes.append(f"Shortest `{kind}`: " + _short(run, kind))
    return {
        "title": "Invariants over random conversations",
        "tables": [
            {
                "caption": "Size and speed",
                "columns": ["sequences", "turns", "sequences with a violation", "turns/s"],
                "rows": [
                    [len(runs), turns, failing, round(turns / seconds, 1) if seconds else None]
                ],
            },
            {
                "caption": "What the random users got done (the checks had something to judge)",
                "columns": ["cancellations", "refund cases", "tickets", "SMS sent"],
                "rows": [[effects[name] for name in EFFECTS]],
            },
            {
                "caption": "Violations by kind (turns that broke it, sequences that broke it)",
                "columns": ["invariant", "violations", "sequences"],
                "rows": [[kind, counts[0], counts[1]] for kind, counts in by_kind.items()],
            },
        ],
        "notes": notes,
        "data": {
            "sequences": len(runs),
            "turns": turns,
            "seconds": round(seconds, 1),
            "effects": effects,
            "violations": {kind: counts[0] for kind, counts in by_kind.items()},
            "sequences_by_kind": {kind: counts[1] for kind, counts in by_kind.items()},
            "shortest": {kind: run.transcript() for kind, run in found.shortest.items()},
        },
    }


def _short(run: Run, kind: str) -> str:
    steps = []
    for step in run.steps:
        if step.text:
            steps.append(f"“{step.text}” → {', '.join(step.responses) or '(nothing)'}")
        if any(v.kind == kind for v in step.violations):
            break
    return "; ".join(steps)


def run(results_dir: Path, quick: bool) -> Path:
    """Runs the survey on servers of its own and writes invariants.json."""
    examples = int(os.environ.get("INVARIANT_BENCH_EXAMPLES", EXAMPLES[quick]))
    with tempfile.TemporaryDirectory(prefix="bench-invariants-") as scratch:
        work = Path(scratch)
        with clocked_served(work) as bot:
            runner = Runner(bot, work / "clock.json", seed=SEED)
            started = time.perf_counter()

            def progress(found: Survey) -> None:
                if len(found.runs) % 100 == 0:
                    print(f"[bench] invariants: {len(found.runs)} sequences", file=sys.stderr)

            found = survey(runner, examples, MAX_MOVES, progress, seed=SEED)
            seconds = time.perf_counter() - started
    path = results_dir / "invariants.json"
    path.write_text(
        json.dumps(section(found, seconds, runner), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return path
