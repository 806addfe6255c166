"""`python -m evaluation.invariants [--examples N] [--max-moves M] [--seed S] [--no-shrink]`:
random conversations on servers of their own; every violation counted, then the sequence
breaking each kind shrunk by hypothesis and printed (what goes into regression tests)."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from evaluation.invariants.runner import Runner, tally
from evaluation.invariants.search import shrink_kind, survey
from evaluation.invariants.server import clocked_served


def _stop(signum: int, frame: object) -> None:
    # Unwinds through clocked_served, which stops both servers.
    raise SystemExit(128 + signum)


def main(argv: Optional[List[str]] = None) -> int:
    """Parses the command line, surveys, shrinks, prints."""
    parser = argparse.ArgumentParser(prog="python -m evaluation.invariants", description=__doc__)
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--max-moves", type=int, default=14)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shrink-examples", type=int, default=200)
    parser.add_argument("--no-shrink", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="invariants-") as scratch:
        work = Path(scratch)
        with clocked_served(work) as bot:
            runner = Runner(bot, work / "clock.json", seed=args.seed)
            started = time.perf_counter()
            found = survey(runner, args.examples, args.max_moves, seed=args.seed)
            seconds = time.perf_counter() - started
            sequences, turns, kinds = tally(found.runs)
            effects = {
                name: sum(run.effects[name] for run in found.runs) for name in found.runs[0].effects
            }
            print(f"{sequences} sequences, {turns} turns, {seconds:.0f} s, effects: {effects}")
            print(f"violations: {kinds}")
            for kind, run in sorted(found.shortest.items()):
                print(f"\n=== shortest {kind}\n{run.transcript()}", flush=True)
            if not args.no_shrink:
                for kind in sorted(found.shortest):
                    run = shrink_kind(runner, kind, args.shrink_examples, args.max_moves)
                    shown = run.transcript() if run else "(not found again)"
                    print(f"\n=== shrunk {kind}\n{shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
