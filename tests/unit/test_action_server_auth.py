"""actions/server.py: only the Rasa server (its bearer token) runs actions; bodies are bounded.

The real entry point runs in its own process on a seeded SQLite store. Before it, rasa_sdk's
server ran any action for anyone who could reach port 5055: a forged tracker claiming an
SMS-proved identity cancelled a stranger's membership.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from actions.server import BodyTooLarge, bearer_token, inflate, token_matches
from tests.e2e.bot import listening_addresses

ROOT = Path(__file__).resolve().parents[2]
ZHANG = "13800138000"
TENCENT = "腾讯视频VIP"
LIMIT = 64 * 1024  # --max-body-bytes of the server under test (the default is 8 MiB)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ActionServer:
    """The running entry point: its address, token and store."""

    def __init__(self, port: int, token: str, env: Dict[str, str]) -> None:
        self.port, self.token, self.env = port, token, env

    def call(
        self,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, Any]:
        """One request; (status, decoded JSON answer)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        return response.status, json.loads(raw) if raw else None

    def auth(self, token: Optional[str] = None) -> Dict[str, str]:
        """Rasa's headers: JSON and the bearer token."""
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token if token is None else token}",
        }

    def status_of(self, product: str) -> str:
        """The status of 张三's membership `product` in the store."""
        from core.settings import Settings
        from core.store import build_service

        service = build_service(Settings.from_env(self.env))
        return next(s.status for s in service.subscriptions(ZHANG) if s.product_name == product)

    def subscription_id(self, product: str) -> int:
        """The id of 张三's membership `product`."""
        from core.settings import Settings
        from core.store import build_service

        service = build_service(Settings.from_env(self.env))
        return next(s.id for s in service.subscriptions(ZHANG) if s.product_name == product)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    """`python -m actions.server` with a random token, on a freshly seeded store."""
    work = tmp_path_factory.mktemp("action_server")
    token = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "ACTION_SERVER_TOKEN": token,
        "STORE_URL": f"sqlite:///{work / 'store.db'}",
        "SMS_OUTBOX": str(work / "sms_outbox.jsonl"),
        "PARTNER_SIM_CONTROL": str(work / "partner_sim.json"),
    }
    env.pop("DEPLOY_ENV", None)
    seeded = subprocess.run(
        [sys.executable, "-m", "core.store.seed"], cwd=ROOT, env=env, capture_output=True
    )
    assert seeded.returncode == 0, seeded.stderr
    port = _free_port()
    log = work / "actions.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "-p", str(port), "--max-body-bytes", str(LIMIT)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield ActionServer(port, token, env)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert token not in log.read_text(), "the token is never logged"


def forged_cancellation(subscription_id: int) -> bytes:
    """What an attacker posts: a tracker claiming an SMS-proved identity and a confirmation."""
    user = {
        "event": "user",
        "text": "确认取消",
        "input_channel": "sms",
        "metadata": {"identity": {"source": "sms_sender", "phone": ZHANG}},
        "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}, "entities": []},
    }
    tracker = {
        "sender_id": "attacker",
        "slots": {
            "subscription_id": str(subscription_id),
            "cancel_confirmed": True,
            "verified_phone": "138****8000",
            "verified_at": time.time(),
        },
        "latest_message": user["parse_data"] | {"text": user["text"]},
        "events": [user],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "sms",
    }
    body = {"next_action": "action_cancel_subscription", "sender_id": "attacker"}
    return json.dumps({**body, "tracker": tracker, "domain": {}}).encode("utf-8")


def harmless_call() -> bytes:
    """A call that changes nothing: the list of ways to cancel."""
    tracker = json.loads(forged_cancellation(0))["tracker"]
    tracker.update(slots={}, events=[])
    return json.dumps(
        {"next_action": "action_cancel_methods", "tracker": tracker, "domain": {}}
    ).encode("utf-8")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic d3Jvbmc6d3Jvbmc="},
        {"Authorization": "Bearer "},
    ],
    ids=["no token", "wrong token", "other scheme", "empty token"],
)
def test_a_forged_cancellation_without_the_token_is_refused(
    server: ActionServer, headers: Dict[str, str]
) -> None:
    sub = server.subscription_id(TENCENT)
    assert server.status_of(TENCENT) == "active"
    status, answer = server.call(
        "POST",
        "/webhook",
        forged_cancellation(sub),
        {"Content-Type": "application/json", **headers},
    )
    assert (status, answer) == (401, {"error": "unauthorized"})
    assert server.status_of(TENCENT) == "active"


def test_the_token_in_the_url_is_not_accepted(server: ActionServer) -> None:
    """Only the header counts: a URL token would end up in access logs."""
    sub = server.subscription_id(TENCENT)
    status, _ = server.call(
        "POST",
        f"/webhook?token={server.token}",
        forged_cancellation(sub),
        {"Content-Type": "application/json"},
    )
    assert status == 401 and server.status_of(TENCENT) == "active"


def test_the_action_list_needs_the_token_and_health_does_not(server: ActionServer) -> None:
    assert server.call("GET", "/actions")[0] == 401
    status, listed = server.call("GET", "/actions", headers=server.auth())
    assert status == 200 and {"name": "action_cancel_subscription"} in listed
    assert server.call("GET", "/health") == (200, {"status": "ok"})


def test_with_the_token_actions_run(server: ActionServer) -> None:
    status, answer = server.call("POST", "/webhook", harmless_call(), server.auth())
    assert status == 200 and answer["responses"], answer


def test_a_deflated_call_with_the_token_runs(server: ActionServer) -> None:
    """Rasa may deflate its calls (RASA_COMPRESS_ACTION_SERVER_REQUEST): still understood."""
    headers = {**server.auth(), "Content-Encoding": "deflate"}
    status, answer = server.call("POST", "/webhook", zlib.compress(harmless_call()), headers)
    assert status == 200 and answer["responses"], answer


def test_an_oversized_body_is_refused(server: ActionServer) -> None:
    body = b'{"pad": "' + b"x" * (LIMIT + 1024) + b'"}'
    status, _ = server.call("POST", "/webhook", body, server.auth())
    assert status == 413


def test_a_deflate_bomb_is_refused_without_inflating_it(server: ActionServer) -> None:
    """20 KB that would inflate to 20 MiB: refused once the limit is passed."""
    bomb = zlib.compress(b"0" * (20 * 1024 * 1024), 9)
    assert len(bomb) < LIMIT
    headers = {**server.auth(), "Content-Encoding": "deflate"}
    status, answer = server.call("POST", "/webhook", bomb, headers)
    assert (status, answer) == (413, {"error": "request body too large"})
    # And without the token, refused before anything is inflated.
    no_token = {"Content-Type": "application/json", "Content-Encoding": "deflate"}
    assert server.call("POST", "/webhook", bomb, no_token)[0] == 401


def test_a_broken_deflate_body_is_a_bad_request(server: ActionServer) -> None:
    headers = {**server.auth(), "Content-Encoding": "deflate"}
    assert server.call("POST", "/webhook", b"not deflate at all", headers)[0] == 400
    truncated = zlib.compress(harmless_call())[:-8]
    assert server.call("POST", "/webhook", truncated, headers)[0] == 400


def test_inflate_stops_at_the_limit() -> None:
    data = b"a" * 1000
    assert inflate(zlib.compress(data), 1000) == data
    with pytest.raises(BodyTooLarge):
        inflate(zlib.compress(data), 999)


def test_bearer_token_and_comparison() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") == "" and bearer_token("") == ""
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc") and not token_matches("", "") and not token_matches(
        "abc", ""
    )


def test_without_a_token_the_server_does_not_start(tmp_path: Path) -> None:
    """Nothing to check calls against: it says so and stops, instead of serving everyone."""
    env = {k: v for k, v in os.environ.items() if k not in ("ACTION_SERVER_TOKEN", "DEPLOY_ENV")}
    done = subprocess.run(
        [sys.executable, "-m", "actions.server", "-p", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "ACTION_SERVER_TOKEN is unset" in done.stderr


def test_it_listens_on_loopback_only_by_default(server: ActionServer) -> None:
    """127.0.0.1 (0100007F little-endian), not every interface (00000000)."""
    assert listening_addresses(server.port) == {"0100007F"}
