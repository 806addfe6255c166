"""Hypothesis over the runner: checking sequences (strict), surveying them (counting every
violation), and shrinking the sequences that break one kind of invariant."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed

from evaluation.invariants.moves import Sequence, sequences
from evaluation.invariants.runner import Run, Runner


def hypothesis_settings(examples: int, shrink: bool = True, **extra) -> settings:
    """Settings for tests on live servers: no deadline, no example database, reproducible
    under CI (derandomize), only the generate (and shrink) phases."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=os.environ.get("CI") == "true",
        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def check(runner: Runner, examples: int, max_moves: int) -> None:
    """Runs `examples` random sequences; the first violation fails, shrunk to a minimal one."""

    @hypothesis_settings(examples, report_multiple_bugs=False)
    @given(sequences(max_moves))
    def one(sequence: Sequence) -> None:
        runner.run(sequence).raise_first()

    one()


@dataclass
class Survey:
    """Every run of a survey and the shortest run showing each kind of violation."""

    runs: List[Run] = field(default_factory=list)
    shortest: Dict[str, Run] = field(default_factory=dict)


def survey(
    runner: Runner,
    examples: int,
    max_moves: int,
    progress: Optional[Callable] = None,
    seed: int = 0,
) -> Survey:
    """Runs `examples` random sequences (drawn from `seed`) without stopping at violations;
    counts them all."""
    found = Survey()

    @fixed_seed(seed)
    @hypothesis_settings(examples, shrink=False)
    @given(sequences(max_moves))
    def one(sequence: Sequence) -> None:
        run = runner.run(sequence)
        found.runs.append(run)
        for kind in {v.kind for v in run.violations}:
            best = found.shortest.get(kind)
            if best is None or len(run.sequence.moves) < len(best.sequence.moves):
                found.shortest[kind] = run
        if progress:
            progress(found)

    one()
    return found


def shrink_kind(runner: Runner, kind: str, examples: int, max_moves: int) -> Optional[Run]:
    """The minimal sequence hypothesis finds that breaks `kind` (None: none found)."""
    last: List[Run] = []

    @hypothesis_settings(examples, report_multiple_bugs=False)
    @given(sequences(max_moves))
    def one(sequence: Sequence) -> None:
        run = runner.run(sequence)
        if any(v.kind == kind for v in run.violations):
            last.append(run)
            raise AssertionError(kind)

    try:
        one()
    except Exception:  # an AssertionError, or hypothesis's Flaky when a replay passed
        if not last:
            raise
        # The last failing run is hypothesis's final replay of the minimal example.
        return last[-1]
    return None
