"""The servers' processes: started, waited for until their health URL answers, stopped."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 300.0
STOP_TIMEOUT = 20.0


class StartError(RuntimeError):
    """A server exited or did not answer in time; the message ends with its log."""


def orphan_guard() -> None:
    """In the child: be sent SIGTERM when the parent dies, so no server outlives it."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _tail(log: Optional[Path]) -> str:
    if log is None or not log.exists():
        return "(see the output above)"
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]


def wait_until_up(
    url: str,
    procs: Sequence[subprocess.Popen],
    timeout: float = START_TIMEOUT,
    log: Optional[Path] = None,
    logs: Sequence[Optional[Path]] = (),
) -> None:
    """Waits until `url` answers 200; StartError when one of `procs` exits (with the tail of
    its entry in `logs`, else of `log`) or time runs out (with the tail of `log`)."""
    deadline = time.monotonic() + timeout
    while True:
        for index, proc in enumerate(procs):
            if proc.poll() is not None:
                its_log = logs[index] if index < len(logs) else log
                raise StartError(f"server exited with {proc.returncode}:\n{_tail(its_log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise StartError(f"{url} did not answer within {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.2)


def wait_ready(url: str, timeout: float, procs: List[subprocess.Popen]) -> bool:
    """Polls `url` until it answers, a process dies, or time runs out (True: it answered)."""
    try:
        wait_until_up(url, procs, timeout)
    except StartError:
        return False
    return True


@dataclass
class Server:
    """One server process: its command line, environment, log (None: this terminal), and the
    URL that answers once it is ready."""

    name: str
    command: List[str]
    env: Dict[str, str]
    log: Optional[Path]
    health_url: str
    cwd: Path = ROOT
    # Sent SIGTERM when the starting process dies (the bench: no server outlives it).
    tied: bool = False
    proc: Optional[subprocess.Popen] = None

    def spawn(self) -> None:
        """Starts the process without waiting for it; its output is appended to the log."""
        guard = orphan_guard if self.tied else None
        if self.log is None:
            self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, preexec_fn=guard)
            return
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=guard,
            )

    def wait(self, timeout: float = START_TIMEOUT, also: Iterable[Server] = ()) -> None:
        """Waits until the health URL answers; StartError if this process or one of `also`
        exits first (with its log), or time runs out."""
        assert self.proc is not None, f"{self.name} was not spawned"
        watched = [self, *(s for s in also if s is not self and s.proc is not None)]
        procs = [s.proc for s in watched]
        wait_until_up(self.health_url, procs, timeout, self.log, [s.log for s in watched])

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Starts the process and waits until its health URL answers."""
        self.spawn()
        self.wait(timeout)

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def signal_stop(self, hard: bool = False) -> None:
        """Asks the process to stop: SIGKILL when `hard` (a crash), else SIGTERM (Sanic stops
        gracefully on it, and a process started in a script's background ignores SIGINT)."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)

    def reap(self) -> None:
        """Waits for the stopped process, killing it after STOP_TIMEOUT."""
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self, hard: bool = False) -> None:
        """Stops the process: SIGKILL when `hard`, else SIGTERM then SIGKILL after a while."""
        self.signal_stop(hard)
        self.reap()


@dataclass
class Stack:
    """One action server and one or more Rasa servers, with their shared environment."""

    work: Path
    env: Dict[str, str]
    action: Server
    rasa: List[Server] = field(default_factory=list)
    # Seconds from `start` until each server answered, by name (the bench reports them).
    ready_s: Dict[str, float] = field(default_factory=dict)
    _spawned_at: float = field(default=0.0, repr=False)

    @property
    def servers(self) -> List[Server]:
        """Every server, the action server first."""
        return [self.action, *self.rasa]

    @property
    def url(self) -> str:
        """The first Rasa server's base URL."""
        return self.rasa_url(0)

    def rasa_url(self, index: int) -> str:
        """Rasa server `index`'s base URL."""
        return self.rasa[index].health_url.rstrip("/")

    @property
    def action_url(self) -> str:
        """The action server's base URL."""
        return self.action.health_url.rsplit("/", 1)[0]

    def spawn(self) -> None:
        """Starts every process without waiting: they load side by side."""
        self._spawned_at = time.monotonic()
        for server in self.servers:
            server.spawn()

    def wait(self, timeout: float = START_TIMEOUT) -> None:
        """Waits until every spawned server answers; StartError when any exits first."""
        for server in self.servers:
            server.wait(timeout, also=self.servers)
            self.ready_s[server.name] = time.monotonic() - self._spawned_at

    def start(self, one_by_one: bool = False, timeout: float = START_TIMEOUT) -> None:
        """Starts every server and waits until each answers. `one_by_one`: each Rasa server
        only after the one before is up (several on one database create its tables once)."""
        if not one_by_one:
            self.spawn()
            self.wait(timeout)
            return
        self._spawned_at = time.monotonic()
        for server in self.servers:
            server.start(timeout)
            self.ready_s[server.name] = time.monotonic() - self._spawned_at

    def all_running(self) -> bool:
        """Whether every server is still running."""
        return all(server.running() for server in self.servers)

    def stop(self) -> None:
        """Stops every server, Rasa first (SIGTERM, then SIGKILL after STOP_TIMEOUT)."""
        stopping = [*self.rasa, self.action]
        for server in stopping:
            server.signal_stop()
        for server in stopping:
            server.reap()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
