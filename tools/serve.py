"""Starts the action server and the Rasa server together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The Rasa server's settings that must be in place before TensorFlow is imported. oneDNN's
# kernels make DIET's tiny graph slower here: 4.1 → 3.6 ms CPU per parse without them, with
# the same intents and entities on all 409 held-out utterances and confidences within 4e-7.
# An operator's own value in the environment wins.
SERVER_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0"}


def endpoints_file(
    action_port: int, directory: Path, host: str = "localhost", extra: str = ""
) -> Path:
    """An endpoints.yml pointing Rasa at the action server, with the redacting tracker store.

    `extra` is more YAML for the wrapped store or an event broker (tests use it).
    """
    path = directory / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://{host}:{action_port}/webhook"\n'
        # Only the form validators need the domain; the other actions get none (less JSON).
        "  enable_selective_domain: true\n"
        "tracker_store:\n  type: redaction.tracker_store.RedactingTrackerStore\n" + extra,
        encoding="utf-8",
    )
    return path


def commands(
    rasa_port: int,
    action_port: int,
    endpoints: Path,
    cors: str,
    model: str = "models",
    credentials: Optional[Path] = None,
    tuned: bool = True,
) -> List[List[str]]:
    """The two server command lines: the action server, then the Rasa server.

    `tuned` starts Rasa with SERVER_ENV (through `env`, which execs it: same process id);
    the benchmark's stock baseline runs without it.
    """
    action = [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "-p", str(action_port)]
    settings = [f"{k}={os.environ.get(k, v)}" for k, v in SERVER_ENV.items()] if tuned else []
    server = [
        *(["env", *settings] if settings else []),
        str(BIN / "rasa"),
        "run",
        "--enable-api",
        "--model",
        model,
        "--credentials",
        str(credentials or ROOT / "credentials.yml"),
        "--endpoints",
        str(endpoints),
        "-p",
        str(rasa_port),
        "--cors",
        *[o.strip() for o in cors.split(",") if o.strip()],
    ]
    return [action, server]


def wait_ready(url: str, timeout: float, procs: List[subprocess.Popen]) -> bool:
    """Polls `url` until it answers, a process dies, or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def main() -> int:
    """Runs both servers in the foreground."""
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    cors = os.environ.get("CORS_ORIGINS", "*")
    with tempfile.TemporaryDirectory() as tmp:
        endpoints = endpoints_file(action_port, Path(tmp))
        procs = [
            subprocess.Popen(cmd, cwd=ROOT)
            for cmd in commands(rasa_port, action_port, endpoints, cors)
        ]
        try:
            if wait_ready(f"http://localhost:{rasa_port}/status", 180, procs):
                url = f"http://localhost:{rasa_port}/webhooks/rest/webhook"
                chat = f"http://localhost:{rasa_port}/chat"
                print(f"\n退订助手 is ready. Chat page: {chat}  REST: {url} (Ctrl-C stops)\n")
            else:
                print("A server failed to start; see the log above.", file=sys.stderr)
                return 1
            while all(p.poll() is None for p in procs):
                time.sleep(1)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    sys.exit(main())
