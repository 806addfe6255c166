"""The running assistant for end-to-end and browser tests: a trained model served over REST
with the real action server and a seeded store (fixtures `bot`, `fresh`, `sender`,
`invariant_runner`). Starting the servers is stack/ (the same launcher as `make run`)."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from evaluation.invariants.runner import Runner
from evaluation.invariants.server import clocked_served
from stack.bot import CORS, Bot, served
from stack.launch import (
    BIN,
    ROOT,
    START_TIMEOUT,
    StartError,
    free_port,
    latest_model,
    secured,
    wait_until_up,
    work_env,
)


def listening_addresses(port: int) -> set:
    """The local addresses (as /proc/net/tcp writes them: 127.0.0.1 is 0100007F) with a socket
    listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Waits until `url` answers 200, failing with the server's log if it dies or hangs."""
    try:
        wait_until_up(url, [proc], START_TIMEOUT, log)
    except StartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Starts the action server and the Rasa server once for all end-to-end tests."""
    work = tmp_path_factory.mktemp("e2e")
    with served(work, work_env(work)) as started:
        yield started


@pytest.fixture
def fresh(bot: Bot) -> Bot:
    """The bot on freshly seeded demo data."""
    bot.reseed()
    return bot


@pytest.fixture
def sender() -> str:
    """A new conversation id."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def invariant_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """A runner of random conversations on servers of their own (their clock is moved)."""
    work = tmp_path_factory.mktemp("invariants")
    with clocked_served(work) as started:
        yield Runner(started, work / "clock.json", seed=int(os.environ.get("INVARIANT_SEED", "0")))


REFERENCE = re.compile(r"TD\d{8}[0-9A-HJKMNP-TV-Z]{6}")


def find_reference(texts: List[str]) -> Optional[str]:
    """The first cancellation reference in the bot's texts."""
    for text in texts:
        match = REFERENCE.search(text)
        if match:
            return match.group(0)
    return None


__all__ = [
    "BIN",
    "CORS",
    "ROOT",
    "Bot",
    "find_reference",
    "free_port",
    "latest_model",
    "listening_addresses",
    "replace",
    "secured",
    "served",
    "wait_for",
    "work_env",
]
