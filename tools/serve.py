"""Starts the action server and the Rasa server together; Ctrl-C stops both.

Closed by default: both listen on 127.0.0.1 (`HOST`, `ACTION_HOST`), Rasa's HTTP API is off
unless RASA_API_TOKEN is set (then on, with that token), and the action server accepts only
calls carrying ACTION_SERVER_TOKEN, which Rasa sends as a header from its endpoints file. In
development an unset ACTION_SERVER_TOKEN or CHANNEL_ASSERTION_KEY gets a random value for
this run, the same for both servers; with DEPLOY_ENV=production nothing is made up and both
servers' secrets are checked first (tools/production_check.py): any unfit, and nothing starts.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from tools import production_check

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The Rasa server's settings that must be in place before TensorFlow is imported. oneDNN's
# kernels make DIET's tiny graph slower here: 4.1 → 3.6 ms CPU per parse without them, with
# the same intents and entities on all 409 held-out utterances and confidences within 4e-7.
# An operator's own value in the environment wins.
SERVER_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0"}
DEFAULT_HOST = "127.0.0.1"
API_TOKEN_ENV = "RASA_API_TOKEN"
ACTION_TOKEN_ENV = "ACTION_SERVER_TOKEN"
ASSERTION_KEY_ENV = "CHANNEL_ASSERTION_KEY"
# Secrets both servers must share; in development each unset one is made up per run.
SHARED_SECRETS = (ACTION_TOKEN_ENV, ASSERTION_KEY_ENV)
# Rasa expands ${VAR} in unquoted endpoint values when it reads the file: the token stays in
# the environment, never in a file. A header, not `token:` (which Rasa puts in the URL, where
# access logs keep it).
ACTION_AUTH_HEADER = "  headers:\n    Authorization: Bearer ${" + ACTION_TOKEN_ENV + "}\n"
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def endpoints_file(
    action_port: int, directory: Path, host: str = DEFAULT_HOST, extra: str = ""
) -> Path:
    """An endpoints.yml pointing Rasa at the action server (with its token header), with the
    redacting tracker store.

    `extra` is more YAML for the wrapped store or an event broker (tests use it).
    """
    path = directory / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://{host}:{action_port}/webhook"\n'
        + ACTION_AUTH_HEADER
        # Only the form validators need the domain; the other actions get none (less JSON).
        + "  enable_selective_domain: true\n"
        # Every message says what comes next (turns/answer.py), for the channels to render.
        "nlg:\n  type: rasa_plugins.answer_nlg.AnswerGenerator\n"
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
    host: str = DEFAULT_HOST,
    api_token: Optional[str] = None,
    action_host: Optional[str] = None,
) -> List[List[str]]:
    """The two server command lines: the action server, then the Rasa server.

    Rasa listens on `host`; its HTTP API is on only with an `api_token`. The action server
    listens on `action_host`, else on ACTION_HOST from its environment, else on 127.0.0.1.
    `tuned` starts Rasa with SERVER_ENV (through `env`, which execs it: same process id);
    the benchmark's stock baseline runs without it.
    """
    action = [sys.executable, "-m", "actions.server", "--actions", "actions"]
    action += ["-p", str(action_port), *(["--host", action_host] if action_host else [])]
    settings = [f"{k}={os.environ.get(k, v)}" for k, v in SERVER_ENV.items()] if tuned else []
    # One argument with "=": a token starting with "-" (token_urlsafe makes one in 64) would
    # otherwise be read by argparse as an option and Rasa would not start.
    api = ["--enable-api", f"--auth-token={api_token}"] if api_token else []
    server = [
        *(["env", *settings] if settings else []),
        str(BIN / "rasa"),
        "run",
        "--model",
        model,
        "--credentials",
        str(credentials or ROOT / "credentials.yml"),
        "--endpoints",
        str(endpoints),
        "-i",
        host,
        "-p",
        str(rasa_port),
        *api,
        "--cors",
        *[o.strip() for o in cors.split(",") if o.strip()],
    ]
    return [action, server]


def server_env(env: Mapping[str, str]) -> Dict[str, str]:
    """Both servers' environment: `env`, plus a random per-run value for each unset shared
    secret outside production (in production an unset one is refused, never made up)."""
    result = dict(env)
    if not production_check.is_production(env):
        for name in SHARED_SECRETS:
            if not result.get(name, "").strip():
                result[name] = secrets.token_urlsafe(32)
    return result


def refusal(env: Mapping[str, str]) -> Optional[str]:
    """In production, the message naming every unfit secret of either server; else None."""
    if not production_check.is_production(env):
        return None
    api_token = env.get(API_TOKEN_ENV, "").strip()
    parts = [
        ("action server", production_check.action_server_problems(env)),
        ("rasa server", production_check.rasa_server_problems(env, bool(api_token), api_token)),
    ]
    messages = [production_check.message(name, found) for name, found in parts if found]
    return "\n".join(messages) or None


def reachable(host: str) -> str:
    """The address, as a URL writes it, to reach a server listening on `host` from here."""
    host = host.strip()
    if host in WILDCARD_HOSTS:
        return DEFAULT_HOST
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Runs both servers in the foreground; non-zero when either refuses or stops."""
    # Stopped by a service manager or a container runtime (SIGTERM) as by Ctrl-C: both
    # servers are stopped too, none is left running on its own.
    signal.signal(signal.SIGTERM, _interrupt)
    env = server_env(os.environ)
    refused = refusal(env)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    rasa_port = int(env.get("RASA_PORT", "5005"))
    action_port = int(env.get("ACTION_PORT", "5055"))
    cors = env.get("CORS_ORIGINS", "*")
    host = env.get("HOST", "").strip() or DEFAULT_HOST
    action_host = env.get("ACTION_HOST", "").strip() or DEFAULT_HOST
    api_token = env.get(API_TOKEN_ENV, "").strip() or None
    with tempfile.TemporaryDirectory() as tmp:
        endpoints = endpoints_file(action_port, Path(tmp), host=reachable(action_host))
        cmds = commands(
            rasa_port,
            action_port,
            endpoints,
            cors,
            host=host,
            api_token=api_token,
            action_host=action_host,
        )
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env) for cmd in cmds]
        try:
            # `GET /` answers without the API, once the model is loaded.
            base = f"http://{reachable(host)}:{rasa_port}"
            if wait_ready(f"{base}/", 180, procs):
                api = "on (?token=$RASA_API_TOKEN)" if api_token else "off (set RASA_API_TOKEN)"
                print(
                    f"\n退订助手 is ready. Chat page: {base}/chat  REST: {base}/webhooks/rest/"
                    f"webhook  HTTP API: {api}  (Ctrl-C stops)\n"
                )
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
                    # SIGTERM: Sanic stops gracefully on it, and a process started in the
                    # background of a script ignores SIGINT.
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    sys.exit(main())
