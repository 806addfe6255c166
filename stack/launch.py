"""The one way the assistant is started: the action server and Rasa, for `make run`, the
end-to-end tests and the bench.

Closed by default: both listen on 127.0.0.1, Rasa's HTTP API is on only with an API token, and
the action server accepts only calls carrying ACTION_SERVER_TOKEN, which Rasa sends as a header
from its endpoints file. In development an unset ACTION_SERVER_TOKEN or CHANNEL_ASSERTION_KEY
gets a random value for the run, the same for both servers; with DEPLOY_ENV=production nothing
is made up (`refusal` names every unfit secret, tools/production_check.py).

`build(...)` makes a `Stack` (the environment, the endpoints file, both command lines, the
ports) without starting anything; `Stack.start()` starts both and waits until they answer,
`Stack.stop()` stops them.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from stack.processes import (
    START_TIMEOUT,
    Server,
    Stack,
    StartError,
    wait_ready,
    wait_until_up,
)
from tools import production_check

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRODUCTION_ENDPOINTS = ROOT / "deploy" / "endpoints.production.yml"
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
# The Redis trackers and locks several Sanic workers share (the wrapped store goes under the
# redacting tracker store's `store:`).
REDIS_TRACKER_STORE = "rasa_plugins.redis_tracker_store.RedisTrackerStore"
REDIS_LOCK_STORE = "rasa_plugins.redis_lock_store.AtomicRedisLockStore"


def rasa_entry() -> List[str]:
    """How the Rasa server is invoked: `python -m rasa_patches` (Rasa's own command line, with
    log redaction, the production check and the guarded patches applied first)."""
    return [sys.executable, "-m", "rasa_patches"]


def stock_rasa() -> List[str]:
    """Rasa's own command, untouched: training, and the benchmark's stock baseline."""
    return [str(BIN / "rasa")]


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def latest_model() -> Path:
    """The newest trained model in models/; trains one when there is none."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        subprocess.run([*stock_rasa(), "train", "--out", "models"], cwd=ROOT, check=True)
        models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1]


# The environment


def server_env(env: Mapping[str, str]) -> Dict[str, str]:
    """Both servers' environment: `env`, plus a random per-run value for each unset shared
    secret outside production (in production an unset one is refused, never made up)."""
    result = dict(env)
    if not production_check.is_production(env):
        for name in SHARED_SECRETS:
            if not result.get(name, "").strip():
                result[name] = secrets.token_urlsafe(32)
    return result


def secured(env: Mapping[str, str]) -> Dict[str, str]:
    """`env` with this run's secrets: a random action server token and channel assertion key
    shared by both servers, and a random token that turns Rasa's HTTP API on (tests and the
    bench read trackers through it)."""
    tokens = {name: secrets.token_urlsafe(32) for name in (ACTION_TOKEN_ENV, API_TOKEN_ENV)}
    return server_env({**env, **tokens})


def work_env(work: Path, **extra: str) -> Dict[str, str]:
    """The servers' environment for a store, outbox and partner control in `work`, with this
    run's secrets (`secured`), plus `extra` settings (a short resend interval, a clock file…)."""
    env = secured(os.environ)
    env.update(
        STORE_URL=f"sqlite:///{work / 'store.db'}",
        SMS_OUTBOX=str(work / "sms_outbox.jsonl"),
        PARTNER_SIM_CONTROL=str(work / "partner_sim.json"),
        PARTNER_TIMEOUT_SECONDS="1",
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    env.update(extra)
    return env


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


# The endpoints file and the command lines


def endpoints_file(
    action_port: int,
    directory: Path,
    host: str = DEFAULT_HOST,
    extra: str = "",
    stock: bool = False,
) -> Path:
    """An endpoints.yml pointing Rasa at the action server (with its token header), with the
    answer NLG and the redacting tracker store.

    `extra` is more YAML for the wrapped store, a lock store or an event broker. `stock` is
    Rasa's defaults (the bench's baseline): the action endpoint and its token header only.
    """
    path = directory / "endpoints.yml"
    action = f'action_endpoint:\n  url: "http://{host}:{action_port}/webhook"\n'
    if stock:
        path.write_text(action + ACTION_AUTH_HEADER, encoding="utf-8")
        return path
    path.write_text(
        action
        + ACTION_AUTH_HEADER
        # Only the form validators need the domain; the other actions get none (less JSON).
        + "  enable_selective_domain: true\n"
        # Every message says what comes next (turns/answer.py), for the channels to render.
        "nlg:\n  type: rasa_plugins.answer_nlg.AnswerGenerator\n"
        "tracker_store:\n  type: redaction.tracker_store.RedactingTrackerStore\n" + extra,
        encoding="utf-8",
    )
    return path


def shared_stores(key_prefix: str, host: str = DEFAULT_HOST, port: int = 6379) -> str:
    """endpoints.yml lines for Redis trackers (under the redacting store) and Redis locks,
    which several Sanic workers need to share a conversation."""
    return (
        f"  store:\n    type: {REDIS_TRACKER_STORE}\n"
        f"    url: {host}\n    port: {port}\n    key_prefix: {key_prefix}\n    record_exp: 3600\n"
        f"lock_store:\n  type: {REDIS_LOCK_STORE}\n"
        f"  url: {host}\n  port: {port}\n  key_prefix: {key_prefix}lock\n"
    )


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
    action_module: str = "actions.server",
) -> List[List[str]]:
    """The two server command lines: the action server, then the Rasa server.

    Rasa listens on `host`; its HTTP API is on only with an `api_token`. The action server
    listens on `action_host`, else on ACTION_HOST from its environment, else on 127.0.0.1.
    `tuned` starts Rasa with SERVER_ENV (through `env`, which execs it: same process id);
    the benchmark's stock baseline runs without it.
    """
    action = [sys.executable, "-m", action_module, "--actions", "actions"]
    action += ["-p", str(action_port), *(["--host", action_host] if action_host else [])]
    settings = [f"{k}={os.environ.get(k, v)}" for k, v in SERVER_ENV.items()] if tuned else []
    # One argument with "=": a token starting with "-" (token_urlsafe makes one in 64) would
    # otherwise be read by argparse as an option and Rasa would not start.
    api = ["--enable-api", f"--auth-token={api_token}"] if api_token else []
    server = [
        *(["env", *settings] if settings else []),
        *(rasa_entry() if tuned else stock_rasa()),
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


def build(
    work: Path,
    env: Dict[str, str],
    *,
    model: str = "models",
    rasa_count: int = 1,
    rasa_port: Optional[int] = None,
    action_port: Optional[int] = None,
    host: str = DEFAULT_HOST,
    action_host: Optional[str] = None,
    action_module: str = "actions.server",
    cors: str = "*",
    api_token: Optional[str] = None,
    endpoints: Optional[Path] = None,
    extra_endpoints: str = "",
    stock: bool = False,
    credentials: Optional[Path] = None,
    workers: int = 1,
    debug: bool = False,
    action_env: Optional[Mapping[str, str]] = None,
    rasa_args: Sequence[str] = (),
    logs: bool = True,
    numbered: bool = False,
    tied: bool = False,
) -> Stack:
    """A stack, built but not started.

    `work` holds the written endpoints file and the logs (actions.log, rasa.log, or rasa<i>.log
    with several Rasa servers or `numbered`; `logs=False`: this terminal instead).
    `endpoints` is a given file (deploy/endpoints.production.yml) instead of a written one;
    `extra_endpoints` more YAML for the written one; `stock` Rasa's own endpoints, untuned
    (the bench's baseline).
    `workers` > 1 runs that many Sanic workers on shared Redis trackers and locks.
    `action_module` is the action server's module (a test's variant of actions.server).
    `debug` starts both at debug level, the action server in `work` so that anything it
    writes lands there. `action_env` applies to the action server only; `rasa_args` are more
    arguments of each Rasa server. Ports not given are free ones.
    """
    env = dict(env)
    action_port = action_port or free_port()
    rasa_ports = [rasa_port or free_port()] + [free_port() for _ in range(rasa_count - 1)]
    if workers > 1:
        env["SANIC_WORKERS"] = str(workers)
        extra_endpoints += shared_stores(f"stack{os.getpid()}{rasa_ports[0]}")
    if endpoints is None:
        endpoints = endpoints_file(
            action_port,
            work,
            host=reachable(action_host or DEFAULT_HOST),
            extra=extra_endpoints,
            stock=stock,
        )
    flags = ["--debug"] if debug else []

    def log(name: str) -> Optional[Path]:
        return work / f"{name}.log" if logs else None

    action_cmd, _ = commands(
        0, action_port, endpoints, cors, model, action_host=action_host, action_module=action_module
    )
    action_cwd = work if debug else ROOT
    action = Server(
        "actions",
        action_cmd + flags,
        # Started elsewhere than the project root, it still finds the actions package.
        {**env, **(action_env or {}), **({"PYTHONPATH": str(ROOT)} if debug else {})},
        log("actions"),
        f"http://{reachable(action_host or DEFAULT_HOST)}:{action_port}/health",
        cwd=action_cwd,
        tied=tied,
    )
    servers = []
    for index, port in enumerate(rasa_ports):
        _, rasa_cmd = commands(
            port,
            action_port,
            endpoints,
            cors,
            model,
            credentials,
            tuned=not stock,
            host=host,
            api_token=api_token,
        )
        name = f"rasa{index}" if numbered or rasa_count > 1 else "rasa"
        servers.append(
            Server(
                name,
                rasa_cmd + flags + list(rasa_args),
                env,
                log(name),
                # `GET /` is open (no token) and answers once the model is loaded.
                f"http://{reachable(host)}:{port}/",
                tied=tied,
            )
        )
    return Stack(work=work, env=env, action=action, rasa=servers)


# Callers need only this module: the process helpers are part of its interface.
__all__ = [
    "ACTION_AUTH_HEADER",
    "API_TOKEN_ENV",
    "BIN",
    "DEFAULT_HOST",
    "PRODUCTION_ENDPOINTS",
    "ROOT",
    "SERVER_ENV",
    "START_TIMEOUT",
    "Server",
    "Stack",
    "StartError",
    "build",
    "commands",
    "endpoints_file",
    "free_port",
    "latest_model",
    "reachable",
    "refusal",
    "rasa_entry",
    "secured",
    "server_env",
    "shared_stores",
    "wait_ready",
    "wait_until_up",
    "work_env",
]
