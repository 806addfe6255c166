"""`python -m bench.run [--only nlu|dialogue|speed|profile|invariants|inbox] [--quick]`: benchmark,
then report.

Each part is a module `bench.<part>_bench` with `run(results_dir, quick) -> Path` that writes
`<part>.json` (format in bench/report.py) and its plots into the results directory. A part
whose module does not exist yet is skipped with a note; one that fails does not stop the
others, but makes the exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import List, Optional

from bench import report

PARTS = ("nlu", "dialogue", "speed", "profile", "invariants", "inbox")


def run_part(part: str, results_dir: Path, quick: bool, models_dir: Optional[Path]) -> bool:
    """Runs one part; False if it failed. A missing module counts as skipped, not failed."""
    module_name = f"bench.{part}_bench"
    if importlib.util.find_spec(module_name) is None:
        print(f"[bench] {part}: skipped ({module_name} does not exist yet)", file=sys.stderr)
        return True
    module = importlib.import_module(module_name)
    started = time.perf_counter()
    print(f"[bench] {part}: running", file=sys.stderr)
    try:
        if part == "nlu":
            module.run(results_dir, quick, models_dir=models_dir)
        else:
            module.run(results_dir, quick)
    except Exception:  # reported with its traceback, and the exit status says it failed
        traceback.print_exc()
        print(f"[bench] {part}: FAILED", file=sys.stderr)
        return False
    print(f"[bench] {part}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return True


def main(argv: Optional[List[str]] = None) -> int:
    """Parses the command line, runs the parts, writes and summarises the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="run one part (the report still merges the other parts' latest results)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run: skips what needs training (numbers not comparable)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=report.RESULTS_DIR,
        help="results directory (default bench/results)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: redraw the NLU tables and plots from nlu.json, rewrite the report",
    )
    parser.add_argument(
        "--keep-models",
        type=Path,
        metavar="DIR",
        help="keep trained NLU baselines in DIR and reuse them while config, "
        "data and NLU code are unchanged (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    # Library deprecation chatter would bury the progress lines (child processes inherit it).
    os.environ["PYTHONWARNINGS"] = "ignore"
    warnings.simplefilter("ignore")
    args.results.mkdir(parents=True, exist_ok=True)
    ok = True
    if args.report_only:
        from bench.nlu_section import rebuild

        if rebuild(args.results) is None:
            print("[bench] nlu.json holds no scores to redraw: kept as it is", file=sys.stderr)
    else:
        for part in [args.only] if args.only else PARTS:
            ok = run_part(part, args.results, args.quick, args.keep_models) and ok
    path = report.write_report(args.results)
    print(report.summary(args.results))
    print(f"\nReport: {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
