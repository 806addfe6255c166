"""tools/production_check: in production, every weak secret is named, each for its reason."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from cryptography.fernet import Fernet

from tools import production_check as check

ROOT = Path(__file__).resolve().parents[2]
ACTION_SECRETS = (
    "VERIFICATION_HASH_KEY",
    "PHONE_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "ACTION_SERVER_TOKEN",
    "CHANNEL_ASSERTION_KEY",
)
RASA_SECRETS = (
    "SMS_WEBHOOK_SECRET",
    "IVR_TOKEN",
    "VOICE_TOKEN",
    "ACTION_SERVER_TOKEN",
    "CHANNEL_ASSERTION_KEY",
)


def strong() -> str:
    """A value every rule accepts."""
    return secrets.token_urlsafe(48)


def good_env() -> Dict[str, str]:
    """A production environment both servers accept."""
    env = {name: strong() for name in {*ACTION_SECRETS, *RASA_SECRETS}}
    env["PHONE_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    env["DEPLOY_ENV"] = "production"
    env["SMS_GATEWAY"] = "http"
    env["SMS_HTTP_TOKEN"] = strong()
    return env


def names(problems) -> list:
    return [p.name for p in problems]


def test_a_fit_environment_passes_both_servers() -> None:
    env = good_env()
    assert check.action_server_problems(env) == []
    assert check.rasa_server_problems(env) == []
    env["RASA_API_TOKEN"] = strong()
    assert check.rasa_server_problems(env, api_enabled=True) == []


@pytest.mark.parametrize("name", ACTION_SECRETS)
@pytest.mark.parametrize(
    "value, reason",
    [
        ("", "unset"),
        ("short-but-random-Xq9", "shorter than 32"),
        ("change-me-to-the-output-of-secrets-token-urlsafe-48", "placeholder"),
        ("change-me-long-random", "placeholder"),
    ],
)
def test_each_action_server_secret_for_each_reason(name: str, value: str, reason: str) -> None:
    env = good_env()
    env[name] = value
    problems = check.action_server_problems(env)
    assert names(problems) == [name]
    assert reason in problems[0].reason


@pytest.mark.parametrize("name", RASA_SECRETS)
@pytest.mark.parametrize(
    "value, reason",
    [
        ("", "unset"),
        ("x" * 31, "shorter than 32"),
        ("change-me-to-the-output-of-secrets-token-urlsafe-48", "placeholder"),
    ],
)
def test_each_rasa_secret_for_each_reason(name: str, value: str, reason: str) -> None:
    env = good_env()
    env[name] = value
    problems = check.rasa_server_problems(env)
    assert names(problems) == [name]
    assert reason in problems[0].reason


def test_every_development_default_is_refused() -> None:
    """The public fallbacks of core.settings, core.identity.assertion and the channels."""
    from channels.ivr import DEV_TOKEN
    from channels.sms.auth import DEV_SECRET
    from core import settings
    from core.identity.assertion import DEV_KEY

    # The checker's copies of the channels' constants (it may not import Rasa) are theirs.
    assert set(check.CHANNEL_DEV_VALUES) == {DEV_SECRET, DEV_TOKEN}
    cases = {
        "VERIFICATION_HASH_KEY": settings.DEV_HASH_KEY,
        "PHONE_ENCRYPTION_KEYS": settings.DEV_PHONE_ENCRYPTION_KEY,
        "BLIND_INDEX_KEY": settings.DEV_BLIND_INDEX_KEY,
        "CHANNEL_ASSERTION_KEY": DEV_KEY,
    }
    for name, value in cases.items():
        env = {**good_env(), name: value}
        problems = check.action_server_problems(env)
        assert names(problems) == [name]
        assert "development default" in problems[0].reason
    for name, value in {"SMS_WEBHOOK_SECRET": DEV_SECRET, "IVR_TOKEN": DEV_TOKEN}.items():
        problems = check.rasa_server_problems({**good_env(), name: value})
        assert names(problems) == [name] and "development default" in problems[0].reason


def test_every_secret_of_the_example_file_is_refused_as_a_placeholder() -> None:
    """A copy of deploy/production.env.example left unfilled starts nothing."""
    example = (ROOT / "deploy" / "production.env.example").read_text(encoding="utf-8")
    values = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, re.MULTILINE))
    # Commented out in the file (the API is off by default), with the same kind of placeholder.
    values.update(re.findall(r"^# (RASA_API_TOKEN)=(.*)$", example, re.MULTILINE))
    env = values
    action = check.action_server_problems(env)
    rasa = check.rasa_server_problems(env, api_enabled=True)
    assert names(action) == [*ACTION_SECRETS, "SMS_HTTP_TOKEN"]
    assert names(rasa) == [*RASA_SECRETS, "RASA_API_TOKEN"]
    for problem in action + rasa:
        assert "placeholder" in problem.reason, problem
    # Built in as well: a deployment without the example file still refuses them.
    for name in {*ACTION_SECRETS, *RASA_SECRETS, "SMS_HTTP_TOKEN", "RASA_API_TOKEN"}:
        assert values[name] in check.PLACEHOLDERS, name


def test_all_offenders_are_named_in_one_message() -> None:
    env = {"DEPLOY_ENV": "production", "VERIFICATION_HASH_KEY": "short"}
    with pytest.raises(SystemExit) as refused:
        check.check_action_server(env)
    text = str(refused.value.code)
    for name in ACTION_SECRETS:
        assert name in text
    assert "VERIFICATION_HASH_KEY: shorter than 32" in text
    assert "short" not in text.replace("shorter", "")  # the value itself is never shown
    assert "secrets.token_urlsafe(48)" in text and "Fernet.generate_key()" in text


def test_nothing_is_checked_outside_production() -> None:
    check.check_action_server({})
    check.check_action_server({"DEPLOY_ENV": "development"})
    check.check_rasa_server({}, argv=["rasa", "run", "--enable-api"])
    assert check.is_production({"DEPLOY_ENV": " Production "})


def test_fernet_keys_each_checked_and_must_be_fernet_keys() -> None:
    env = good_env()
    # 44 characters of base64 pass the length rule; a random 44-char string is no Fernet key.
    env["PHONE_ENCRYPTION_KEYS"] = f"{Fernet.generate_key().decode()},{'A' * 43}!"
    problems = check.action_server_problems(env)
    assert names(problems) == ["PHONE_ENCRYPTION_KEYS"]
    assert problems[0].reason == "key 2: not a Fernet key (32 url-safe base64-encoded bytes)"


def test_phone_key_file_keys_are_checked(tmp_path: Path) -> None:
    from core.settings import DEV_PHONE_ENCRYPTION_KEY

    key_file = tmp_path / "phone.keys"
    key_file.write_text(f"# current\n{Fernet.generate_key().decode()}\n\n", encoding="utf-8")
    env = {**good_env(), "PHONE_ENCRYPTION_KEY_FILE": str(key_file)}
    del env["PHONE_ENCRYPTION_KEYS"]
    assert check.action_server_problems(env) == []
    key_file.write_text(f"{Fernet.generate_key().decode()}\n{DEV_PHONE_ENCRYPTION_KEY}\n")
    problems = check.action_server_problems(env)
    assert names(problems) == ["PHONE_ENCRYPTION_KEY_FILE"]
    assert "key 2: the public development default" in problems[0].reason
    key_file.write_text("# nothing\n")
    assert "unset" in check.action_server_problems(env)[0].reason
    key_file.unlink()
    assert "cannot read" in check.action_server_problems(env)[0].reason
    both = {**env, "PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    assert names(check.action_server_problems(both)) == ["PHONE_ENCRYPTION_KEYS"]


def test_the_sms_provider_token_is_required_with_the_http_gateway() -> None:
    env = {k: v for k, v in good_env().items() if k != "SMS_HTTP_TOKEN"}
    problems = check.action_server_problems({**env, "SMS_GATEWAY": "http"})
    assert names(problems) == ["SMS_HTTP_TOKEN"] and problems[0].reason == "unset"
    env.update(SMS_GATEWAY="HTTP", SMS_HTTP_TOKEN=strong())
    assert check.action_server_problems(env) == []


def test_the_api_token_counts_only_when_the_api_is_on() -> None:
    env = good_env()
    assert check.rasa_server_problems(env, api_enabled=False) == []
    problems = check.rasa_server_problems(env, api_enabled=True)
    assert names(problems) == ["RASA_API_TOKEN"] and "the HTTP API is on" in problems[0].reason
    # Inside the Rasa process the token is the command line's --auth-token.
    on, token = check.rasa_api_from_argv(["rasa", "run", "--enable-api", "--auth-token", "abc"])
    assert (on, token) == (True, "abc")
    assert check.rasa_api_from_argv(["rasa", "run", "-p", "5005"]) == (False, "")
    with pytest.raises(SystemExit) as refused:
        check.check_rasa_server(env, argv=["rasa", "run", "--enable-api", "--auth-token", "abc"])
    assert "RASA_API_TOKEN: the HTTP API is on and its token is shorter than 32" in str(
        refused.value.code
    )
    check.check_rasa_server(env, argv=["rasa", "run", "--enable-api", "--auth-token", strong()])


def test_the_action_server_refuses_to_start_naming_the_variables(tmp_path: Path) -> None:
    """The real entry point, in its own process: exit 1 before serving, every name given."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DEPLOY_ENV": "production",
        "ACTION_SERVER_TOKEN": "change-me-to-the-output-of-secrets-token-urlsafe-48",
        "STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "actions.server", "-p", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "action server: refusing to start with DEPLOY_ENV=production" in done.stderr
    assert "ACTION_SERVER_TOKEN: the placeholder of deploy/production.env.example" in done.stderr
    for name in ACTION_SECRETS:
        assert f"{name}: " in done.stderr


@pytest.mark.parametrize("gateway", ["", "outbox", "OUTBOX"])
def test_the_development_sms_outbox_is_refused_in_production(gateway: str) -> None:
    """Codes written to a local file are no way to reach a holder in production."""
    env = good_env()
    env["SMS_GATEWAY"] = gateway
    assert [(p.name, p.reason) for p in check.action_server_problems(env)] == [
        ("SMS_GATEWAY", "the development outbox, not a real SMS provider")
    ]
