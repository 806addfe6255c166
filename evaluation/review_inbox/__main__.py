"""`python -m evaluation.review_inbox collect|merge`: the review inbox's command line.

    collect --db-url URL | --endpoints FILE --out review.yml [--since DATE] [--top N]
    merge review.yml [--into data/nlu] [--dry-run]

Exit status: 0 done, 2 an operator's error (bad URL, no events table, a review file not
ready to merge), with one message on stderr saying what to fix.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

from evaluation.review_inbox.collect import DEFAULT_BELOW, DEFAULT_REPHRASE_BELOW
from evaluation.review_inbox.grouping import DEFAULT_DISTANCE
from evaluation.review_inbox.inbox import DEFAULT_TOP
from evaluation.review_inbox.merge import ROOT
from evaluation.review_inbox.store import InboxError

URL_VARIABLE = "TRACKER_STORE_URL"


def _since(value: str) -> float:
    """A date (2026-12-01) or a date and time, read as UTC, in epoch seconds."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use 2026-12-01)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.review_inbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    collect = commands.add_parser("collect", help="write a review file from the tracker store")
    collect.add_argument("--db-url", help=f"the SQL tracker store (default: ${URL_VARIABLE})")
    collect.add_argument(
        "--endpoints", type=Path, help="or read the SQL tracker store an endpoints file names"
    )
    collect.add_argument("--out", type=Path, required=True, help="the review file to write")
    collect.add_argument("--since", type=_since, help="only conversations active since (UTC)")
    collect.add_argument("--top", type=int, default=DEFAULT_TOP, help="groups to write")
    collect.add_argument(
        "--below",
        type=float,
        default=DEFAULT_BELOW,
        help="confidence under which a turn counts as not understood",
    )
    collect.add_argument(
        "--rephrase-below",
        type=float,
        default=DEFAULT_REPHRASE_BELOW,
        help="confidence under which a try right after a misunderstanding is shown",
    )
    collect.add_argument(
        "--distance",
        type=float,
        default=DEFAULT_DISTANCE,
        help="cosine distance under which texts are grouped",
    )
    merge = commands.add_parser("merge", help="add a reviewed file's examples to the data")
    merge.add_argument("review", type=Path, help="the review file, every group decided")
    merge.add_argument(
        "--into",
        type=Path,
        default=ROOT / "data" / "nlu",
        help="the training data folder (default data/nlu)",
    )
    merge.add_argument("--domain", type=Path, default=ROOT / "domain.yml")
    merge.add_argument("--dry-run", action="store_true", help="say what would be written")
    return parser


def _store_url(args: argparse.Namespace) -> str:
    """The tracker store's URL: --db-url, the SQL store an endpoints file configures (the
    redacting wrapper looked through, ${VARS} expanded), or $TRACKER_STORE_URL."""
    if args.db_url:
        return args.db_url
    if args.endpoints:
        from core.store.errors import TrackerStoreError
        from core.store.tracker_retention import tracker_url_from_endpoints

        try:
            url = tracker_url_from_endpoints(args.endpoints)
        except TrackerStoreError as exc:
            raise InboxError(str(exc)) from exc
        if not url:
            raise InboxError(f"{args.endpoints} keeps the tracker store in memory: nothing to read")
        return url
    url = os.environ.get(URL_VARIABLE)
    if not url:
        raise InboxError(
            f"name the tracker store: --db-url URL, --endpoints FILE or ${URL_VARIABLE}"
        )
    return url


def main(argv: Optional[List[str]] = None) -> int:
    """Runs one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "collect":
            from evaluation.review_inbox.inbox import collect_review

            url = _store_url(args)
            if args.top < 1:
                raise InboxError("--top must be at least 1")
            result = collect_review(
                url,
                args.out,
                args.since,
                args.top,
                args.below,
                args.distance,
                rephrase_below=args.rephrase_below,
            )
            print(result.render())
            print(f"review file: {args.out} (fill in `intent:` or `discard: true`, then merge)")
        else:
            from evaluation.review_inbox.merge import merge

            report = merge(args.review, args.into, args.domain, dry_run=args.dry_run)
            print(("dry run: " if args.dry_run else "") + report.render())
    except InboxError as exc:
        print(f"review inbox: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
