"""core.dev_clock: the development clock control, and its refusal in production."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.dev_clock import FileClock, clock_from_env, utc_now, write_offset
from tests.unit.test_production_check import good_env
from tools import production_check as check

FIXED = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def test_the_clock_adds_the_file_offset_and_follows_its_changes(tmp_path: Path) -> None:
    """Moving the offset moves the clock at once (the file is re-read when it changes)."""
    path = tmp_path / "clock.json"
    clock = FileClock(path, base=lambda: FIXED)
    assert clock() == FIXED  # no file yet: no offset
    write_offset(path, 2 * 86400)
    assert clock() == FIXED + timedelta(days=2)
    write_offset(path, 5 * 86400)
    os.utime(path, ns=(1, 1))  # even with an old mtime, a new file (inode) is re-read
    assert clock() == FIXED + timedelta(days=5)
    path.write_text("not json", encoding="utf-8")
    assert clock() == FIXED


def test_unset_means_the_plain_clock(tmp_path: Path) -> None:
    """Without DEV_CLOCK_FILE the real UTC clock is used."""
    assert clock_from_env({}) is utc_now
    assert isinstance(clock_from_env({"DEV_CLOCK_FILE": str(tmp_path / "c.json")}), FileClock)


def test_the_clock_control_is_refused_in_production(tmp_path: Path) -> None:
    """A production action server stops on DEV_CLOCK_FILE, and the clock refuses it too."""
    env = {**good_env(), "DEV_CLOCK_FILE": str(tmp_path / "c.json")}
    assert [(p.name, p.reason) for p in check.action_server_problems(env)] == [
        ("DEV_CLOCK_FILE", "a development clock control: unset it")
    ]
    with pytest.raises(RuntimeError, match="DEV_CLOCK_FILE"):
        clock_from_env({"DEV_CLOCK_FILE": "c.json", "DEPLOY_ENV": "production"})
