"""Configuration of the action server: every setting, its environment variable and default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A development-only key; production must set VERIFICATION_HASH_KEY (see README).
DEV_HASH_KEY = "dev-only-verification-hash-key-change-me"


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    value = Path(env.get(name, default))
    return value if value.is_absolute() else PROJECT_ROOT / value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def default_store_url() -> str:
    """The SQLite file used when STORE_URL is not set."""
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'store.db'}"


@dataclass(frozen=True)
class Settings:
    """Every knob of the action server, read once from the environment."""

    store_url: str = field(default_factory=default_store_url)
    catalog_path: Path = PROJECT_ROOT / "data" / "catalog.yml"
    sms_outbox: Path = PROJECT_ROOT / "var" / "sms_outbox.jsonl"
    partner_sim_control: Path = PROJECT_ROOT / "var" / "partner_sim.json"
    partner_timeout_seconds: float = 5.0
    timezone: str = "Asia/Shanghai"
    verification_hash_key: str = DEV_HASH_KEY
    code_ttl_seconds: int = 300
    max_code_attempts: int = 5
    lockout_seconds: int = 900
    resend_interval_seconds: int = 60
    resend_per_hour: int = 5
    verified_idle_seconds: int = 600
    refund_window_days: int = 7
    operator_hotline: str = "10086"
    cancel_sms_number: str = "10086"
    cancel_sms_keyword: str = "0000"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Builds settings from environment variables (os.environ by default)."""
        env = os.environ if env is None else env
        return cls(
            store_url=env.get("STORE_URL") or default_store_url(),
            catalog_path=_path(env, "CATALOG_PATH", "data/catalog.yml"),
            sms_outbox=_path(env, "SMS_OUTBOX", "var/sms_outbox.jsonl"),
            partner_sim_control=_path(env, "PARTNER_SIM_CONTROL", "var/partner_sim.json"),
            partner_timeout_seconds=_float(env, "PARTNER_TIMEOUT_SECONDS", 5.0),
            timezone=env.get("DISPLAY_TIMEZONE", "Asia/Shanghai"),
            verification_hash_key=env.get("VERIFICATION_HASH_KEY") or DEV_HASH_KEY,
            code_ttl_seconds=_int(env, "CODE_TTL_SECONDS", 300),
            max_code_attempts=_int(env, "MAX_CODE_ATTEMPTS", 5),
            lockout_seconds=_int(env, "LOCKOUT_SECONDS", 900),
            resend_interval_seconds=_int(env, "RESEND_INTERVAL_SECONDS", 60),
            resend_per_hour=_int(env, "RESEND_PER_HOUR", 5),
            verified_idle_seconds=_int(env, "VERIFIED_IDLE_SECONDS", 600),
            refund_window_days=_int(env, "REFUND_WINDOW_DAYS", 7),
            operator_hotline=env.get("OPERATOR_HOTLINE", "10086"),
            cancel_sms_number=env.get("CANCEL_SMS_NUMBER", "10086"),
            cancel_sms_keyword=env.get("CANCEL_SMS_KEYWORD", "0000"),
        )
