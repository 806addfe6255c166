"""tools/serve.py: the command lines make run and the end-to-end tests use, closed by default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools import serve
from tools.serve import commands, endpoints_file, refusal, server_env

ROOT = Path(__file__).resolve().parents[2]


def test_commands_pass_ports_endpoints_and_every_cors_origin(tmp_path: Path) -> None:
    """Both servers on the given ports; each configured origin becomes a --cors value."""
    endpoints = endpoints_file(5056, tmp_path)
    action, server = commands(5006, 5056, endpoints, "https://a.cn, https://b.cn")
    assert action[action.index("-p") + 1] == "5056"
    assert server[server.index("-p") + 1] == "5006"
    cors = server[server.index("--cors") + 1 :]
    assert cors == ["https://a.cn", "https://b.cn"]
    assert "http://127.0.0.1:5056/webhook" in endpoints.read_text(encoding="utf-8")


def test_rasa_listens_on_loopback_without_api_unless_told(tmp_path: Path) -> None:
    """No HOST: 127.0.0.1. No RASA_API_TOKEN: no --enable-api at all (the API is off)."""
    endpoints = endpoints_file(5056, tmp_path)
    _, server = commands(5006, 5056, endpoints, "*")
    assert server[server.index("-i") + 1] == "127.0.0.1"
    assert "--enable-api" not in server and not any(a.startswith("--auth-token") for a in server)
    _, server = commands(5006, 5056, endpoints, "*", host="0.0.0.0", api_token="t0k")
    assert server[server.index("-i") + 1] == "0.0.0.0"
    assert server[server.index("--auth-token=t0k") - 1] == "--enable-api"
    # The origins stay last: --cors takes every value after it.
    assert server[server.index("--cors") + 1 :] == ["*"]


def test_the_action_server_is_our_entry_point_on_loopback(tmp_path: Path) -> None:
    """actions.server (token, body limits), not `rasa run actions`; --host only when given."""
    action, _ = commands(5006, 5056, endpoints_file(5056, tmp_path), "*")
    assert action[:3] == [sys.executable, "-m", "actions.server"]
    assert "--host" not in action  # then ACTION_HOST, else 127.0.0.1 (actions/server.py)
    action, _ = commands(5006, 5056, endpoints_file(5056, tmp_path), "*", action_host="10.0.0.6")
    assert action[action.index("--host") + 1] == "10.0.0.6"


def test_endpoints_send_the_token_as_a_header_from_the_environment(tmp_path: Path) -> None:
    """Rasa reads the header with ${ACTION_SERVER_TOKEN} expanded; the file holds no token."""
    from rasa.core.utils import AvailableEndpoints

    endpoints = endpoints_file(5056, tmp_path)
    text = endpoints.read_text(encoding="utf-8")
    assert "token:" not in text  # Rasa would put a `token:` in the URL
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ACTION_SERVER_TOKEN", "s3cret")
        action = AvailableEndpoints.read_endpoints(str(endpoints)).action
    assert action.headers == {"Authorization": "Bearer s3cret"}
    assert action.url == "http://127.0.0.1:5056/webhook" and not action.token
    for shipped in ("endpoints.yml", "deploy/endpoints.production.yml"):
        assert "Authorization: Bearer ${ACTION_SERVER_TOKEN}" in (ROOT / shipped).read_text()


def test_rasa_starts_without_onednn_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TensorFlow reads the switch when imported: it is set on the command line."""
    endpoints = endpoints_file(5056, tmp_path)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    _, server = commands(5006, 5056, endpoints, "*")
    assert server[:2] == ["env", "TF_ENABLE_ONEDNN_OPTS=0"] and server[3] == "run"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert commands(5006, 5056, endpoints, "*")[1][1] == "TF_ENABLE_ONEDNN_OPTS=1"
    stock = commands(5006, 5056, endpoints, "*", tuned=False)[1]
    assert stock[0].endswith("rasa") and "env" not in stock


def test_development_makes_up_shared_secrets_per_run_production_never() -> None:
    """Unset: a random value for this run, the same for both servers (one environment)."""
    first, second = server_env({}), server_env({})
    for name in ("ACTION_SERVER_TOKEN", "CHANNEL_ASSERTION_KEY"):
        assert len(first[name]) >= 32 and first[name] != second[name]
    assert server_env({"ACTION_SERVER_TOKEN": "mine"})["ACTION_SERVER_TOKEN"] == "mine"
    production = server_env({"DEPLOY_ENV": "production"})
    assert "ACTION_SERVER_TOKEN" not in production and "CHANNEL_ASSERTION_KEY" not in production


def test_urls_reach_the_servers_wherever_they_listen() -> None:
    assert serve.reachable("0.0.0.0") == serve.reachable("") == "127.0.0.1"
    assert serve.reachable("10.0.0.5") == "10.0.0.5"
    assert serve.reachable("::1") == "[::1]" and serve.reachable("::") == "127.0.0.1"


def test_production_refusal_names_both_servers_variables() -> None:
    assert refusal({}) is None
    refused = refusal({"DEPLOY_ENV": "production", "RASA_API_TOKEN": "short"})
    assert refused is not None
    assert "action server: refusing to start" in refused and "rasa server:" in refused
    for name in ("VERIFICATION_HASH_KEY", "PHONE_ENCRYPTION_KEYS", "BLIND_INDEX_KEY",
                 "SMS_WEBHOOK_SECRET", "IVR_TOKEN", "VOICE_TOKEN", "ACTION_SERVER_TOKEN",
                 "CHANNEL_ASSERTION_KEY", "RASA_API_TOKEN"):  # fmt: skip
        assert f"{name}: " in refused


def test_main_exits_non_zero_in_production_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    started = []
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: started.append(a))
    monkeypatch.setenv("DEPLOY_ENV", "production")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "change-me-to-the-output-of-secrets-token-urlsafe-48")
    assert serve.main() == 1
    assert started == []
    err = capsys.readouterr().err
    assert "ACTION_SERVER_TOKEN: the placeholder of deploy/production.env.example" in err


def test_serve_exits_non_zero_in_production(tmp_path: Path) -> None:
    """`python -m tools.serve` (what `make run` runs) with a placeholder: non-zero, all named."""
    done = subprocess.run(
        [sys.executable, "-m", "tools.serve"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DEPLOY_ENV": "production",
            "IVR_TOKEN": "change-me-to-the-output-of-secrets-token-urlsafe-48",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "IVR_TOKEN: the placeholder of deploy/production.env.example" in done.stderr
    assert "VERIFICATION_HASH_KEY: unset" in done.stderr


def test_a_token_starting_with_a_dash_reaches_rasa_whole() -> None:
    """token_urlsafe starts one token in 64 with "-": Rasa's argparse must still read it as the
    token (it did not, and Rasa exited with "-t/--auth-token: expected one argument")."""
    import argparse

    _, server = commands(5006, 5056, Path("endpoints.yml"), "*", api_token="-x9_tok")
    parser = argparse.ArgumentParser()
    parser.add_argument("--enable-api", action="store_true")
    parser.add_argument("-t", "--auth-token")
    known, _ = parser.parse_known_args(server[server.index("--enable-api") :])
    assert known.auth_token == "-x9_tok"
