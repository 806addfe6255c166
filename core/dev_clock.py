"""A development-only clock control: DEV_CLOCK_FILE names a JSON file {"offset_seconds": N}.

The invariant test moves the clock of both the actions and the store forward between random
conversations, so that code ceilings and intervals of one never reach the next. Refused in
production (tools/production_check.py); unset, the clock is the plain UTC clock.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Mapping, Optional, Tuple

from core.clock import utc_now

ENV = "DEV_CLOCK_FILE"


def write_offset(path: Path, seconds: float) -> None:
    """Sets the offset the clocks reading `path` add to the real time (atomically replaced)."""
    path = Path(path)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps({"offset_seconds": float(seconds)}), encoding="utf-8")
    os.replace(scratch, path)


def read_offset(path: Path) -> float:
    """The offset in `path` (0 when the file is missing or unreadable)."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8")).get("offset_seconds", 0)
    except (OSError, ValueError, AttributeError):
        return 0.0
    return float(value) if isinstance(value, (int, float)) else 0.0


class FileClock:
    """UTC now plus the offset in a file, re-read whenever the file changes."""

    def __init__(self, path: Path, base: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._base = base
        self._seen: Optional[Tuple[int, int]] = None
        self._offset = 0.0
        self._lock = threading.Lock()

    def offset(self) -> float:
        """The current offset in seconds."""
        try:
            stat = self.path.stat()
            stamp: Optional[Tuple[int, int]] = (stat.st_mtime_ns, stat.st_ino)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._seen:
                self._offset = read_offset(self.path) if stamp else 0.0
                self._seen = stamp
            return self._offset

    def __call__(self) -> datetime:
        return self._base() + timedelta(seconds=self.offset())


def clock_from_env(env: Optional[Mapping[str, str]] = None) -> Callable[[], datetime]:
    """The clock to use: a FileClock when DEV_CLOCK_FILE is set (never in production)."""
    env = os.environ if env is None else env
    path = env.get(ENV, "").strip()
    if not path:
        return utc_now
    if env.get("DEPLOY_ENV", "").strip().lower() == "production":
        raise RuntimeError(f"{ENV} is a development clock control: unset it in production")
    return FileClock(Path(path))


__all__ = ["ENV", "FileClock", "clock_from_env", "read_offset", "utc_now", "write_offset"]
