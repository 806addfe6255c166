"""Both servers at debug level, everything they write under one folder, for privacy tests.

The tracker store is a SQLite file and the event broker a file, so after a conversation every
file the servers wrote (logs, trackers, events, the store) can be searched for what must not
be there.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

from stack.bot import Bot, served
from stack.launch import work_env

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@contextmanager
def debug_servers(work: Path, **env_overrides: str) -> Iterator[Bot]:
    """The bot on servers at debug level writing trackers, events and logs under `work`."""
    env = work_env(
        work,
        SMS_OUTBOX=str(work / "outbox" / "sms_outbox.jsonl"),
        LOG_LEVEL="DEBUG",
        LOG_LEVEL_LIBRARIES="DEBUG",
        **env_overrides,
    )
    extra = (
        "  store:\n    type: sql\n    dialect: sqlite\n"
        f"    db: {work / 'tracker.db'}\n"
        f"event_broker:\n  type: file\n  path: {work / 'events.log'}\n"
    )
    with served(work, env, extra=extra, debug=True) as bot:
        yield bot


def written(work: Path) -> Dict[str, str]:
    """Every file under `work` but the SMS outbox (the development gateway itself), with
    JSON's \\uXXXX escapes decoded so that escaped text is searched too."""
    found = {}
    for path in work.rglob("*"):
        if path.is_file() and "outbox" not in path.parts:
            content = path.read_bytes().decode("utf-8", "replace")
            found[str(path.relative_to(work))] = _ESCAPE.sub(
                lambda m: chr(int(m.group(1), 16)), content
            )
    return found
