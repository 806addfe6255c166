"""Production mode: a server refuses to start while a secret it uses is weak or public.

With `DEPLOY_ENV=production`, the action server (actions/server.py), the Rasa server (at
channel load, channels/__init__.py) and `make run` (tools/serve.py) check every secret they
use and stop with one message naming each offending variable: unset, a development default,
a placeholder of deploy/production.env.example, or shorter than MIN_LENGTH characters.

No Rasa, no database, nothing read at import: the action server runs it before importing
anything heavy, and the Rasa process before it serves.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import FrozenSet, List, Mapping, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / "deploy" / "production.env.example"
MODE_ENV = "DEPLOY_ENV"
PRODUCTION = "production"
MIN_LENGTH = 32
GENERATE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
GENERATE_FERNET = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

# The channels' public development defaults (channels.sms.auth.DEV_SECRET,
# channels.ivr.DEV_TOKEN). Written out here because importing channels imports Rasa;
# tests/unit/test_production_check.py keeps them equal to the channels' own constants.
CHANNEL_DEV_VALUES = ("dev-sms-webhook-secret-not-for-production", "dev-ivr-token")
# The placeholders deploy/production.env.example ships with: a copy left unfilled is refused.
# The file's own values are refused as well (read when the check runs, if the file is there).
PLACEHOLDERS = (
    "change-me",
    "change-me-long-random",
    "change-me-fernet-key",
    "change-me-to-the-output-of-secrets-token-urlsafe-48",
    "change-me-to-the-output-of-Fernet-generate-key",
)

ACTION_SERVER_SECRETS = (
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
API_TOKEN_ENV = "RASA_API_TOKEN"
PHONE_KEYS_ENV = "PHONE_ENCRYPTION_KEYS"
PHONE_KEY_FILE_ENV = "PHONE_ENCRYPTION_KEY_FILE"
# core.dev_clock.ENV, written out: this module imports nothing of the actions at load.
DEV_CLOCK_ENV = "DEV_CLOCK_FILE"


@dataclass(frozen=True)
class Problem:
    """One variable that may not be used in production, and why."""

    name: str
    reason: str


def is_production(env: Optional[Mapping[str, str]] = None) -> bool:
    """Whether DEPLOY_ENV says production (any case, surrounding spaces ignored)."""
    env = os.environ if env is None else env
    return env.get(MODE_ENV, "").strip().lower() == PRODUCTION


def development_values() -> FrozenSet[str]:
    """Every public development default a secret falls back to outside production."""
    from core.identity.assertion import DEV_KEY
    from core.settings import DEV_BLIND_INDEX_KEY, DEV_HASH_KEY, DEV_PHONE_ENCRYPTION_KEY

    return frozenset(
        {DEV_HASH_KEY, DEV_PHONE_ENCRYPTION_KEY, DEV_BLIND_INDEX_KEY, DEV_KEY, *CHANNEL_DEV_VALUES}
    )


def placeholder_values(example: Path = ENV_EXAMPLE) -> FrozenSet[str]:
    """PLACEHOLDERS and the values of deploy/production.env.example (missing file: PLACEHOLDERS)."""
    values = set(PLACEHOLDERS)
    try:
        lines = example.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset(values)
    for line in lines:
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#") and value.strip():
            values.add(value.strip())
    return frozenset(values)


def _value_reason(value: str, dev: FrozenSet[str], placeholders: FrozenSet[str]) -> Optional[str]:
    # The value itself never appears in a reason: messages end up in logs.
    if not value:
        return "unset"
    if value in dev:
        return "the public development default"
    if value in placeholders:
        return "the placeholder of deploy/production.env.example"
    if len(value) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    return None


def _fernet_reason(key: str) -> Optional[str]:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    return None if len(raw) == 32 else "not a Fernet key (32 url-safe base64-encoded bytes)"


def _key_list_reasons(
    keys: Sequence[str], dev: FrozenSet[str], placeholders: FrozenSet[str]
) -> List[str]:
    if not keys:
        return ["unset"]
    reasons = []
    for position, key in enumerate(keys, start=1):
        reason = _value_reason(key, dev, placeholders) or _fernet_reason(key)
        if reason:
            reasons.append(reason if len(keys) == 1 else f"key {position}: {reason}")
    return reasons


def _phone_key_problems(
    env: Mapping[str, str], dev: FrozenSet[str], placeholders: FrozenSet[str]
) -> List[Problem]:
    key_file = env.get(PHONE_KEY_FILE_ENV, "").strip()
    listed = [k.strip() for k in env.get(PHONE_KEYS_ENV, "").split(",") if k.strip()]
    if key_file and listed:
        return [Problem(PHONE_KEYS_ENV, f"set together with {PHONE_KEY_FILE_ENV}: set one")]
    if not key_file:
        return [Problem(PHONE_KEYS_ENV, r) for r in _key_list_reasons(listed, dev, placeholders)]
    path = Path(key_file) if Path(key_file).is_absolute() else ROOT / key_file
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return [Problem(PHONE_KEY_FILE_ENV, f"cannot read {path}: {reason}")]
    # As core.store.cipher.read_key_file: one key per line, blanks and '#' comments skipped.
    keys = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [
        Problem(PHONE_KEY_FILE_ENV, f"{path}: {r}")
        for r in _key_list_reasons(keys, dev, placeholders)
    ]


def _plain_problems(
    names: Sequence[str], env: Mapping[str, str], dev: FrozenSet[str], placeholders: FrozenSet[str]
) -> List[Problem]:
    problems = []
    for name in names:
        reason = _value_reason(env.get(name, "").strip(), dev, placeholders)
        if reason:
            problems.append(Problem(name, reason))
    return problems


def action_server_problems(env: Optional[Mapping[str, str]] = None) -> List[Problem]:
    """What stops the action server in production (every variable, in a fixed order)."""
    env = os.environ if env is None else env
    dev, placeholders = development_values(), placeholder_values()
    problems = []
    for name in ACTION_SERVER_SECRETS:
        if name == PHONE_KEYS_ENV:
            problems += _phone_key_problems(env, dev, placeholders)
        else:
            problems += _plain_problems([name], env, dev, placeholders)
    gateway = env.get("SMS_GATEWAY", "").strip().lower() or "outbox"
    if gateway == "http":
        problems += _plain_problems(["SMS_HTTP_TOKEN"], env, dev, placeholders)
    else:
        # The outbox is the development stand-in: it writes every code to a local file.
        problems.append(Problem("SMS_GATEWAY", "the development outbox, not a real SMS provider"))
    if env.get(DEV_CLOCK_ENV, "").strip():
        # A shifted clock would move code expiry, ceilings and session idle times.
        problems.append(Problem(DEV_CLOCK_ENV, "a development clock control: unset it"))
    return problems


def rasa_server_problems(
    env: Optional[Mapping[str, str]] = None,
    api_enabled: bool = False,
    api_token: Optional[str] = None,
) -> List[Problem]:
    """What stops the Rasa server in production; the API's token counts when the API is on.

    `api_token` is the token Rasa was given (`--auth-token`); None reads RASA_API_TOKEN.
    """
    env = os.environ if env is None else env
    dev, placeholders = development_values(), placeholder_values()
    problems = _plain_problems(RASA_SECRETS, env, dev, placeholders)
    if api_enabled:
        token = env.get(API_TOKEN_ENV, "") if api_token is None else api_token
        reason = _value_reason(token.strip(), dev, placeholders)
        if reason:
            problems.append(Problem(API_TOKEN_ENV, f"the HTTP API is on and its token is {reason}"))
    return problems


def rasa_api_from_argv(argv: Sequence[str]) -> tuple[bool, Optional[str]]:
    """(API on?, the `--auth-token` value or "" when none) from a `rasa run` command line."""
    enabled, token = False, ""
    for i, arg in enumerate(argv):
        if arg == "--enable-api":
            enabled = True
        elif arg == "--auth-token" and i + 1 < len(argv):
            token = argv[i + 1]
        elif arg.startswith("--auth-token="):
            token = arg.split("=", 1)[1]
    return enabled, token


def message(server: str, problems: Sequence[Problem]) -> str:
    """One message naming every offending variable, with how to make a value."""
    lines = [f"{server}: refusing to start with {MODE_ENV}=production:"]
    lines += [f"  {p.name}: {p.reason}" for p in problems]
    lines.append(
        f"Set each to a random value of at least {MIN_LENGTH} characters ({GENERATE_TOKEN}; "
        f"Fernet keys: {GENERATE_FERNET}); see deploy/production.env.example."
    )
    return "\n".join(lines)


def refuse_unless_ready(server: str, problems: Sequence[Problem]) -> None:
    """Raises SystemExit with `message` when there is any problem: printed, exit status 1.

    SystemExit, not an exception Rasa could catch and log: the process must end.
    """
    if problems:
        raise SystemExit(message(server, problems))


def check_action_server(env: Optional[Mapping[str, str]] = None) -> None:
    """In production, stops the action server process unless its secrets are fit."""
    env = os.environ if env is None else env
    if is_production(env):
        refuse_unless_ready("action server", action_server_problems(env))


def check_rasa_server(
    env: Optional[Mapping[str, str]] = None, argv: Optional[Sequence[str]] = None
) -> None:
    """In production, stops the Rasa process (before it serves) unless its secrets are fit."""
    import sys

    env = os.environ if env is None else env
    if is_production(env):
        enabled, token = rasa_api_from_argv(sys.argv if argv is None else argv)
        refuse_unless_ready("rasa server", rasa_server_problems(env, enabled, token))
