"""Rasa's HTTP API and the servers' ports are closed unless opened on purpose.

Before: `make run` started `rasa run --enable-api` with no token on every interface, so
anyone reaching port 5005 could write a conversation's events (a verified phone), run any
action in it, or replace the model. Now the API is on only with RASA_API_TOKEN (and wants it
as `?token=`), both servers listen on 127.0.0.1 by default, and with DEPLOY_ENV=production
`rasa run` refuses weak secrets before it serves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from tests.e2e.bot import ROOT, Bot, free_port, latest_model, listening_addresses, wait_for

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
PLACEHOLDER = "change-me-to-the-output-of-secrets-token-urlsafe-48"


def http(
    method: str, url: str, body: Optional[Dict[str, Any]] = None, timeout: float = 60
) -> Tuple[int, Any]:
    """(status, decoded JSON or text) of one request; HTTP errors are answers too."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def tracker(bot: Bot, conversation: str) -> Dict[str, Any]:
    """The conversation's tracker, read with the API's token."""
    status, answer = http("GET", bot.api_url(f"/conversations/{conversation}/tracker"))
    assert status == 200, answer
    return answer


def dangerous_calls(conversation: str) -> list:
    """What an attacker wants from the API: write identity, run the cancellation, swap models."""
    return [
        (
            "POST",
            f"/conversations/{conversation}/tracker/events",
            {"event": "slot", "name": "verified_phone", "value": "138****8000"},
        ),
        (
            "POST",
            f"/conversations/{conversation}/execute",
            {"name": "action_cancel_subscription"},
        ),
        ("POST", f"/conversations/{conversation}/trigger_intent", {"name": "affirm"}),
        ("GET", f"/conversations/{conversation}/tracker", None),
        ("POST", "/model/parse", {"text": "你好"}),
        ("PUT", "/model", {"model_file": "/tmp/attacker.tar.gz"}),
        ("DELETE", "/model", None),
        ("GET", "/status", None),
    ]


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no token", "wrong token"])
def test_the_api_refuses_calls_without_its_token(bot: Bot, token: Optional[str]) -> None:
    conversation = f"rest:doors-{uuid.uuid4().hex[:10]}"
    suffix = "" if token is None else f"?token={token}"
    for method, path, body in dangerous_calls(conversation):
        status, answer = http(method, f"{bot.url}{path}{suffix}", body)
        assert status == 401, (method, path, status, answer)
    # Nothing was written, and the model is still there.
    assert tracker(bot, conversation)["slots"].get("verified_phone") is None
    assert bot.say(f"doors-{uuid.uuid4().hex[:8]}", "你好")


def test_the_api_works_with_its_token(bot: Bot) -> None:
    conversation = f"rest:doors-{uuid.uuid4().hex[:10]}"
    status, parsed = http("POST", bot.api_url("/model/parse"), {"text": "有哪些取消方式"})
    assert status == 200 and parsed["intent"]["name"] == "ask_cancel_methods"
    status, _ = http(
        "POST",
        bot.api_url(f"/conversations/{conversation}/tracker/events"),
        {"event": "slot", "name": "service", "value": ["腾讯视频VIP"]},
    )
    assert status == 200
    assert tracker(bot, conversation)["slots"]["service"] == ["腾讯视频VIP"]
    status, answer = http(
        "POST",
        bot.api_url(f"/conversations/{conversation}/execute"),
        {"name": "action_cancel_methods"},
    )
    assert status == 200
    assert "取消会员自动续费有这几种方式" in answer["messages"][0]["text"]


def test_the_root_route_stays_open_for_health_checks(bot: Bot) -> None:
    status, text = http("GET", f"{bot.url}/")
    assert status == 200 and "Hello from Rasa" in text


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, Dict[str, str]]]:
    """`python -m tools.serve` (what `make run` runs) as a developer starts it: no HOST, no
    tokens, no keys set."""
    work = tmp_path_factory.mktemp("make_run")
    rasa_port, action_port = free_port(), free_port()
    unset = ("HOST", "ACTION_HOST", "RASA_API_TOKEN", "ACTION_SERVER_TOKEN", "DEPLOY_ENV")
    env = {k: v for k, v in os.environ.items() if k not in unset and k != "CHANNEL_ASSERTION_KEY"}
    env.update(
        RASA_PORT=str(rasa_port),
        ACTION_PORT=str(action_port),
        STORE_URL=f"sqlite:///{work / 'store.db'}",
        SMS_OUTBOX=str(work / "sms_outbox.jsonl"),
        PARTNER_SIM_CONTROL=str(work / "partner_sim.json"),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    latest_model()  # tools.serve takes the newest model in models/
    log = work / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.serve"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{rasa_port}/", proc, log)
        yield f"http://127.0.0.1:{rasa_port}", {"rasa": rasa_port, "actions": action_port}
    finally:
        # As a service manager stops it (Ctrl-C takes the same path): both servers stop too.
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=40) == 0, log.read_text()[-3000:]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert listening_addresses(rasa_port) == listening_addresses(action_port) == set()


def test_make_run_serves_on_loopback_with_the_api_off(make_run) -> None:
    url, ports = make_run
    for port in ports.values():
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
    for method, path, body in dangerous_calls(f"rest:x{uuid.uuid4().hex[:8]}"):
        status, _ = http(method, f"{url}{path}", body)
        assert status == 404, (method, path, status)  # no such route: the API is off
    assert http("GET", f"{url}/")[0] == 200


def test_make_run_gives_both_servers_the_same_per_run_token(make_run) -> None:
    """A custom action answers: Rasa called the action server with the token it made up."""
    url, _ = make_run
    status, replies = http(
        "POST",
        f"{url}/webhooks/rest/webhook",
        {"sender": f"doors-{uuid.uuid4().hex[:8]}", "message": "有哪些取消方式"},
    )
    assert status == 200
    assert "取消会员自动续费有这几种方式" in "".join(r.get("text", "") for r in replies)


def test_rasa_refuses_to_start_in_production_with_weak_secrets(tmp_path: Path) -> None:
    """`rasa run` itself, at channel load: exit non-zero, every offending variable named."""
    env = {k: v for k, v in os.environ.items() if k != "CHANNEL_ASSERTION_KEY"}
    env.update(
        DEPLOY_ENV="production",
        RASA_TELEMETRY_ENABLED="false",
        ACTION_SERVER_TOKEN=PLACEHOLDER,
        SMS_WEBHOOK_SECRET="short",
        IVR_TOKEN="dev-ivr-token",
        VOICE_TOKEN="v" * 48,
    )
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:1/webhook"\n')
    command = [str(BIN / "rasa"), "run", "--model", str(latest_model())]
    command += ["--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)]
    command += ["-i", "127.0.0.1", "-p", str(free_port()), "--enable-api", "--auth-token", "abc"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0, out[-3000:]
    assert "rasa server: refusing to start with DEPLOY_ENV=production" in out
    assert "ACTION_SERVER_TOKEN: the placeholder of deploy/production.env.example" in out
    assert "SMS_WEBHOOK_SECRET: shorter than 32 characters" in out
    assert "IVR_TOKEN: the public development default" in out
    assert "CHANNEL_ASSERTION_KEY: unset" in out
    assert "RASA_API_TOKEN: the HTTP API is on and its token is shorter than 32" in out
    assert "VOICE_TOKEN" not in out  # a fit secret is not named
    assert "Starting Rasa server" not in out and "Rasa server is up" not in out
