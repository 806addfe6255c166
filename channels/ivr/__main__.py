"""`python -m channels.ivr replay FILE.jsonl --url … [--token …] [--out report.jsonl]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from channels.ivr import DEV_TOKEN
from channels.ivr.replay import (
    ReplayError,
    default_outbox,
    http_poster,
    replay_file,
    summary_table,
    write_reports,
)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="python -m channels.ivr", description="Phone IVR tools: replay recorded calls."
    )
    commands = top.add_subparsers(dest="command", required=True)
    replay = commands.add_parser(
        "replay", help="replay recorded calls (JSONL) through the IVR webhook, report outcomes"
    )
    replay.add_argument("file", type=Path, help="JSONL: one platform event per line")
    replay.add_argument("--url", default="http://localhost:5005", help="the Rasa server")
    replay.add_argument(
        "--token",
        default=os.environ.get("IVR_TOKEN", DEV_TOKEN),
        help="the IVR shared secret (default: $IVR_TOKEN, else the development token)",
    )
    replay.add_argument("--out", type=Path, help="write one JSON report per call here")
    replay.add_argument(
        "--outbox",
        type=Path,
        default=default_outbox(),
        help="dev/QA only: the SMS outbox that fills {code} (default: $SMS_OUTBOX)",
    )
    return top


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the replay; exit 1 when a call hit an error, 2 when the file is unreadable."""
    args = parser().parse_args(argv)
    try:
        reports = replay_file(args.file, http_poster(args.url, args.token), args.outbox)
    except (ReplayError, OSError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    print(summary_table(reports))
    if args.out:
        write_reports(reports, args.out)
    return 1 if any(r.outcome == "error" for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
