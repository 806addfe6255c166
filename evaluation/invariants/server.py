"""The assistant served with a development clock the invariant runs move forward."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.dev_clock import ENV as CLOCK_ENV
from core.dev_clock import FileClock, write_offset
from core.store import build_service
from stack.bot import Bot, served
from stack.launch import work_env


@contextmanager
def clocked_served(work: Path) -> Iterator[Bot]:
    """Both servers on a fresh demo store in `work`, their clocks (and `bot.store`'s) read
    from work/clock.json; logs in `work`."""
    clock_file = work / "clock.json"
    write_offset(clock_file, 0)
    env = work_env(work, **{CLOCK_ENV: str(clock_file)})
    with served(work, env) as bot:
        # The test's own store handle follows the same clock as the servers'.
        bot.store = build_service(bot.settings, clock=FileClock(clock_file))
        yield bot
