"""`rasa test core` on tests/test_stories.yml: every conversation path is predicted exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.bot import latest_model

pytestmark = pytest.mark.nlu

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "tests" / "test_stories.yml"


def test_there_are_at_least_25_stories() -> None:
    """The test stories cover the paths the assistant must handle."""
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]
    assert len(stories) >= 25


def test_every_story_is_predicted(tmp_path: Path) -> None:
    """The trained policies predict every action of every test story."""
    out = tmp_path / "results"
    result = subprocess.run(
        [
            # `rasa test core` with the patches the server runs (rasa_patches/startup.py).
            sys.executable,
            "-m",
            "rasa_patches",
            "test",
            "core",
            "--model",
            str(latest_model()),
            "--stories",
            str(STORIES),
            "--out",
            str(out),
            "--fail-on-prediction-errors",
            "--no-plot",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + details
    assert "- story:" not in details, details
