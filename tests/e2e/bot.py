"""The running assistant for end-to-end and browser tests: a trained model served over REST
with the real action server and a seeded store (fixtures `bot`, `fresh`, `sender`)."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional

import pytest

from core.partners import set_partner_mode
from core.settings import Settings
from core.sms.outbox import latest_code, read_outbox
from core.store import SubscriptionService, build_service
from tools.serve import commands, endpoints_file, server_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT = 300
CORS = "https://shop.example.cn,https://help.example.cn"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def secured(env: Mapping[str, str]) -> Dict[str, str]:
    """`env` with this run's secrets, as `make run` makes them: a random action server token
    and channel assertion key shared by both servers, and a random token that turns Rasa's HTTP
    API on (tests read trackers through it)."""
    tokens = {name: secrets.token_urlsafe(32) for name in ("ACTION_SERVER_TOKEN", "RASA_API_TOKEN")}
    return server_env({**env, **tokens})


def latest_model() -> Path:
    """The newest trained model; trains one when models/ is empty."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        subprocess.run([str(BIN / "rasa"), "train", "--out", "models"], cwd=ROOT, check=True)
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1]


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Waits until `url` answers 200, failing with the server's log if it dies or hangs."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT}s:\n{log.read_text()[-4000:]}")


@dataclass
class Bot:
    """The running assistant, its store and its SMS outbox."""

    url: str
    settings: Settings
    store: SubscriptionService
    env: Dict[str, str]

    def api_url(self, path: str, **params: str) -> str:
        """A URL of Rasa's HTTP API (`/conversations/...`, `/model/parse`) with its token."""
        query = urllib.parse.urlencode({**params, "token": self.env["RASA_API_TOKEN"]})
        return f"{self.url}{path}{'&' if '?' in path else '?'}{query}"

    def say(self, sender: str, text: str) -> List[str]:
        """Sends one message over the REST channel and returns the bot's texts."""
        body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read().decode("utf-8"))
        return [reply.get("text", "") for reply in replies]

    def raw(self, sender: str, text: str) -> List[dict]:
        """Like `say`, but the whole reply objects (buttons included)."""
        body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))

    def code_for(self, phone: str) -> str:
        """The verification code last sent to `phone` (read from the SMS outbox)."""
        code = latest_code(self.settings.sms_outbox, phone)
        assert code is not None, f"no code was sent to {phone}"
        return code

    def outbox(self) -> List[dict]:
        """Every SMS sent so far."""
        return read_outbox(self.settings.sms_outbox)

    def partner_mode(self, mode: str) -> None:
        """Tells the development partner to succeed, fail or time out."""
        set_partner_mode(self.settings.partner_sim_control, mode)

    def reseed(self) -> None:
        """Resets the store to the demo data and empties the outbox."""
        subprocess.run(
            [sys.executable, "-m", "core.store.seed"],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.settings.sms_outbox.unlink(missing_ok=True)
        self.partner_mode("ok")


@contextmanager
def served(work: Path, env: Dict[str, str], extra: str = "", debug: bool = False) -> Iterator[Bot]:
    """Both servers on a fresh demo store in `work`, logs in work/actions.log and rasa.log;
    stopped on exit. `extra` is more endpoints YAML (a wrapped tracker store, a broker);
    `debug` starts both at debug level, the action server in `work` so that anything it
    writes lands there."""
    rasa_port, action_port = free_port(), free_port()
    endpoints = endpoints_file(action_port, work, host="127.0.0.1", extra=extra)
    action_cmd, rasa_cmd = commands(
        rasa_port,
        action_port,
        endpoints,
        CORS,
        model=str(latest_model()),
        api_token=env["RASA_API_TOKEN"],
    )
    flags = ["--debug"] if debug else []
    action_log, rasa_log = work / "actions.log", work / "rasa.log"
    procs: List[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                action_cmd + flags,
                cwd=work if debug else ROOT,
                env={**env, "PYTHONPATH": str(ROOT)},
                stdout=action_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                rasa_cmd + flags,
                cwd=ROOT,
                env=env,
                stdout=rasa_log.open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        settings = Settings.from_env(env)
        bot = Bot(
            url=f"http://127.0.0.1:{rasa_port}",
            settings=settings,
            store=build_service(settings),
            env=env,
        )
        bot.reseed()
        wait_for(f"http://127.0.0.1:{action_port}/health", procs[0], action_log)
        # `GET /` is open (no token) and answers once the model is loaded.
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


def work_env(work: Path, **extra: str) -> Dict[str, str]:
    """The servers' environment for a store, outbox and partner control in `work`, plus
    `extra` settings (a short resend interval, a clock file…)."""
    env = secured(os.environ)
    env.update(
        STORE_URL=f"sqlite:///{work / 'store.db'}",
        SMS_OUTBOX=str(work / "sms_outbox.jsonl"),
        PARTNER_SIM_CONTROL=str(work / "partner_sim.json"),
        PARTNER_TIMEOUT_SECONDS="1",
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        **extra,
    )
    return env


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


REFERENCE = re.compile(r"TD\d{8}[0-9A-HJKMNP-TV-Z]{6}")


def find_reference(texts: List[str]) -> Optional[str]:
    """The first cancellation reference in the bot's texts."""
    for text in texts:
        match = REFERENCE.search(text)
        if match:
            return match.group(0)
    return None


__all__ = ["Bot", "find_reference", "replace"]
