"""Both servers at debug level, everything they write under one folder, for privacy tests.

The tracker store is a SQLite file and the event broker a file, so after a conversation every
file the servers wrote (logs, trackers, events, the store) can be searched for what must not
be there.
"""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

from actions.settings import Settings
from actions.store import build_service
from tests.e2e.bot import CORS, ROOT, Bot, free_port, latest_model, secured, wait_for
from tools.serve import commands, endpoints_file

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@contextmanager
def debug_servers(work: Path, **env_overrides: str) -> Iterator[Bot]:
    """The bot on servers at debug level writing trackers, events and logs under `work`."""
    rasa_port, action_port = free_port(), free_port()
    env = secured(os.environ)
    env.update(
        STORE_URL=f"sqlite:///{work / 'store.db'}",
        SMS_OUTBOX=str(work / "outbox" / "sms_outbox.jsonl"),
        PARTNER_SIM_CONTROL=str(work / "partner_sim.json"),
        RASA_TELEMETRY_ENABLED="false",
        LOG_LEVEL="DEBUG",
        LOG_LEVEL_LIBRARIES="DEBUG",
        **env_overrides,
    )
    extra = (
        "  store:\n    type: sql\n    dialect: sqlite\n"
        f"    db: {work / 'tracker.db'}\n"
        f"event_broker:\n  type: file\n  path: {work / 'events.log'}\n"
    )
    endpoints = endpoints_file(action_port, work, host="127.0.0.1", extra=extra)
    action_cmd, rasa_cmd = commands(
        rasa_port,
        action_port,
        endpoints,
        CORS,
        model=str(latest_model()),
        api_token=env["RASA_API_TOKEN"],
    )
    action_log, rasa_log = work / "actions.log", work / "rasa.log"
    procs: List[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                action_cmd + ["--debug"],
                cwd=work,  # anything it writes lands here and is searched
                env={**env, "PYTHONPATH": str(ROOT)},
                stdout=action_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                rasa_cmd + ["--debug"],
                cwd=ROOT,
                env=env,
                stdout=rasa_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        settings = Settings.from_env(env)
        bot = Bot(f"http://127.0.0.1:{rasa_port}", settings, build_service(settings), env)
        bot.reseed()
        wait_for(f"http://127.0.0.1:{action_port}/health", procs[0], action_log)
        wait_for(f"http://127.0.0.1:{rasa_port}/", procs[1], rasa_log)
        yield bot
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


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
