"""The files of ../shared (the spec and the evaluation sets kept beside the clone), for tests.

A user's clone has no ../shared: a test that needs one of its files skips and says which file
and why. Under CI=true a missing shared file fails the test instead, so CI cannot go green by
skipping what it is there to check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EVAL_DIR = SHARED / "eval"


def require_shared(path: Path) -> Path:
    """`path` (under ../shared) if it exists; else skips the test, or fails it under CI=true."""
    __tracebackhide__ = True  # the report points at the test that needs the file, not here
    if path.exists():
        return path
    shown = f"../shared/{path.relative_to(SHARED)}" if path.is_relative_to(SHARED) else str(path)
    reason = f"needs {shown}, which is not beside this clone (it is kept outside the repository)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the shared files are required", pytrace=False)
    pytest.skip(reason)


def shared_path(*parts: str) -> Path:
    """The path of a file or folder of ../shared, e.g. shared_path("spec", "contract.md")."""
    __tracebackhide__ = True
    return require_shared(SHARED.joinpath(*parts))


def _eval_files() -> List[Path]:
    return sorted(EVAL_DIR.glob("*.yml")) if EVAL_DIR.is_dir() else []


def shared_eval_files() -> List[Path]:
    """The shared evaluation files (../shared/eval/*.yml), never trained on; skips without them."""
    __tracebackhide__ = True
    files = _eval_files()
    if not files:
        require_shared(EVAL_DIR / "*.yml")
    return files


def shared_eval_params() -> List[Path]:
    """For parametrize at collection: the shared evaluation files, or a placeholder if none.

    The placeholder (../shared/eval/*.yml) never exists: a test given it calls require_shared
    and skips (fails under CI=true) with the reason, instead of silently not being collected.
    """
    return _eval_files() or [EVAL_DIR / "*.yml"]
