"""stack/launch.py: how make run (tools/serve.py), the end-to-end tests and the bench start the
servers: command lines and endpoints closed by default, the variants each caller needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stack import launch
from stack.launch import build, commands, endpoints_file, refusal, server_env, shared_stores
from tools import serve

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
    entry = launch.rasa_entry()
    assert server[:2] == ["env", "TF_ENABLE_ONEDNN_OPTS=0"]
    assert server[2 : 2 + len(entry)] == entry and server[2 + len(entry)] == "run"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert commands(5006, 5056, endpoints, "*")[1][1] == "TF_ENABLE_ONEDNN_OPTS=1"
    stock = commands(5006, 5056, endpoints, "*", tuned=False)[1]
    assert stock[:2] == [*launch.stock_rasa(), "run"] and "env" not in stock


def test_the_server_starts_through_the_patch_entry_point_and_the_baseline_does_not(
    tmp_path: Path,
) -> None:
    """Every start of the shipped bot applies the guarded patches; stock Rasa gets none."""
    endpoints = endpoints_file(5056, tmp_path)
    server = commands(5006, 5056, endpoints, "*")[1]
    assert launch.rasa_entry()[1:] == ["-m", "rasa_patches"]
    assert "rasa_patches" in server and "rasa_patches" not in commands(
        5006, 5056, endpoints, "*", tuned=False
    )[1]


def test_development_makes_up_shared_secrets_per_run_production_never() -> None:
    """Unset: a random value for this run, the same for both servers (one environment)."""
    first, second = server_env({}), server_env({})
    for name in ("ACTION_SERVER_TOKEN", "CHANNEL_ASSERTION_KEY"):
        assert len(first[name]) >= 32 and first[name] != second[name]
    assert server_env({"ACTION_SERVER_TOKEN": "mine"})["ACTION_SERVER_TOKEN"] == "mine"
    production = server_env({"DEPLOY_ENV": "production"})
    assert "ACTION_SERVER_TOKEN" not in production and "CHANNEL_ASSERTION_KEY" not in production


def test_urls_reach_the_servers_wherever_they_listen() -> None:
    assert launch.reachable("0.0.0.0") == launch.reachable("") == "127.0.0.1"
    assert launch.reachable("10.0.0.5") == "10.0.0.5"
    assert launch.reachable("::1") == "[::1]" and launch.reachable("::") == "127.0.0.1"


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
    monkeypatch.setattr(launch.subprocess, "Popen", lambda *a, **k: started.append(a))
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


def test_every_endpoints_file_keeps_the_answer_nlg_and_the_redacting_store(tmp_path: Path) -> None:
    """The channel-neutral answer (nlg) and redaction are on whatever the caller adds."""
    import yaml

    extra = "  store:\n    type: sql\nevent_broker:\n  type: file\n  path: events.log\n"
    written = yaml.safe_load(endpoints_file(5056, tmp_path, extra=extra).read_text())
    assert written["nlg"] == {"type": "rasa_plugins.answer_nlg.AnswerGenerator"}
    assert written["tracker_store"] == {
        "type": "redaction.tracker_store.RedactingTrackerStore",
        "store": {"type": "sql"},
    }
    assert written["event_broker"]["type"] == "file"
    assert written["action_endpoint"]["enable_selective_domain"] is True


def test_the_stock_variant_is_rasa_as_shipped_with_only_the_action_token(tmp_path: Path) -> None:
    """The bench's baseline: no nlg, no redaction, no tuned environment, its own credentials."""
    import yaml

    credentials = tmp_path / "stock_credentials.yml"
    stack = build(tmp_path, {"RASA_API_TOKEN": "t"}, stock=True, credentials=credentials)
    written = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    assert set(written) == {"action_endpoint"}
    assert written["action_endpoint"]["headers"] == {
        "Authorization": "Bearer ${ACTION_SERVER_TOKEN}"
    }
    rasa = stack.rasa[0].command
    assert "env" not in rasa and rasa[rasa.index("--credentials") + 1] == str(credentials)


def test_several_workers_share_redis_trackers_and_locks(tmp_path: Path) -> None:
    import yaml

    stack = build(tmp_path, {}, workers=3)
    assert stack.env["SANIC_WORKERS"] == "3"
    written = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    wrapped = written["tracker_store"]["store"]
    assert wrapped["type"] == launch.REDIS_TRACKER_STORE and wrapped["port"] == 6379
    assert written["lock_store"]["type"] == launch.REDIS_LOCK_STORE
    assert written["lock_store"]["key_prefix"] == wrapped["key_prefix"] + "lock"
    assert "SANIC_WORKERS" not in build(tmp_path, {}).env
    assert shared_stores("p").count("key_prefix: p") == 2


def test_a_given_endpoints_file_serves_every_rasa_process(tmp_path: Path) -> None:
    """The production-shaped e2e deployment: deploy/endpoints.production.yml, nothing written,
    one log per process, the action server's own variables, more arguments for Rasa."""
    stack = build(
        tmp_path,
        {"A": "1"},
        endpoints=launch.PRODUCTION_ENDPOINTS,
        rasa_count=2,
        action_port=5999,
        numbered=True,
        action_env={"STORE_URL": "via-proxy"},
        rasa_args=["--debug"],
    )
    assert not (tmp_path / "endpoints.yml").exists()
    for server in stack.rasa:
        command = server.command
        assert command[command.index("--endpoints") + 1] == str(launch.PRODUCTION_ENDPOINTS)
        assert command[-1] == "--debug"
    assert [s.log.name for s in stack.servers] == ["actions.log", "rasa0.log", "rasa1.log"]
    assert stack.action.env["STORE_URL"] == "via-proxy" and "STORE_URL" not in stack.env
    assert stack.action_url == "http://127.0.0.1:5999"
    assert stack.rasa_url(0) != stack.rasa_url(1)


def test_debug_runs_both_at_debug_level_the_action_server_in_the_work_folder(
    tmp_path: Path,
) -> None:
    """Anything the action server writes lands in the work folder (the privacy tests read it)."""
    stack = build(tmp_path, {}, debug=True)
    assert all("--debug" in s.command for s in stack.servers)
    assert stack.action.cwd == tmp_path and stack.action.env["PYTHONPATH"] == str(ROOT)
    assert stack.rasa[0].cwd == ROOT
    plain = build(tmp_path, {})
    assert plain.action.cwd == ROOT and not any("--debug" in s.command for s in plain.servers)


def test_make_run_logs_to_the_terminal_on_the_ports_it_is_given(tmp_path: Path) -> None:
    stack = build(tmp_path, {}, rasa_port=5006, action_port=5056, logs=False)
    assert all(s.log is None for s in stack.servers)
    assert stack.url == "http://127.0.0.1:5006"
    assert stack.action.health_url == "http://127.0.0.1:5056/health"


def _http_server(tmp_path: Path, name: str, port: int) -> launch.Server:
    """A stand-in server: Python's http.server, which answers `/` once it listens."""
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return launch.Server(
        name, command, {}, tmp_path / f"{name}.log", f"http://127.0.0.1:{port}/", cwd=tmp_path
    )


def test_a_stack_starts_waits_until_every_server_answers_and_stops_them(tmp_path: Path) -> None:
    stack = launch.Stack(
        tmp_path,
        {},
        _http_server(tmp_path, "actions", launch.free_port()),
        [_http_server(tmp_path, "rasa", launch.free_port())],
    )
    with stack:
        assert stack.all_running() and set(stack.ready_s) == {"actions", "rasa"}
    assert all(s.proc.poll() is not None for s in stack.servers)


def test_a_server_that_exits_stops_the_start_with_its_log(tmp_path: Path) -> None:
    """The error says which server's log to read, and no server is left running."""
    broken = launch.Server(
        "rasa",
        [sys.executable, "-c", "import sys; print('no model here'); sys.exit(3)"],
        {},
        tmp_path / "rasa.log",
        f"http://127.0.0.1:{launch.free_port()}/",
    )
    stack = launch.Stack(
        tmp_path, {}, _http_server(tmp_path, "actions", launch.free_port()), [broken]
    )
    with pytest.raises(launch.StartError, match="exited with 3:\n(.|\n)*no model here"), stack:
        pass
    assert not any(s.running() for s in stack.servers)
