"""Invariants over random conversations (issue 13), on servers of their own whose clock moves
two days before each sequence, each sequence with freshly seeded holders.

After every turn: one clear answer (never a not-understood message with a flow prompt, one
question at most), an answer at all, no "sent" claim without its SMS, no cancellation, refund
case or ticket the user did not choose, never the same prompt three times in a row without
another way; at the end, forks of the conversation still reach a human and a cancellation.
The first violation fails the test with hypothesis's shrunk sequence and its transcript.

Size: INVARIANT_EXAMPLES sequences (default 250, about 2 minutes with the servers' start) of at
most INVARIANT_MAX_MOVES moves (default 14); under CI=true the draw is
derandomized. The bench runs it larger (`python -m bench.run --only invariants`).
"""

from __future__ import annotations

import os
import time

import pytest

from evaluation.invariants.runner import Runner
from evaluation.invariants.search import check

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("INVARIANT_EXAMPLES", "250"))
MAX_MOVES = int(os.environ.get("INVARIANT_MAX_MOVES", "14"))


def test_invariants_hold_over_random_conversations(invariant_runner: Runner) -> None:
    """Every invariant, after every turn of EXAMPLES random sequences."""
    started, runs_before = time.perf_counter(), invariant_runner.sequences
    check(invariant_runner, EXAMPLES, MAX_MOVES)
    elapsed = time.perf_counter() - started
    print(
        f"invariants: {invariant_runner.sequences - runs_before} sequences, "
        f"{invariant_runner.turns} turns in {elapsed:.0f} s"
    )
