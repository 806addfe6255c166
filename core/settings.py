"""Configuration of the action server: every setting, its environment variable and default."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from core.identity.assertion import DEV_KEY as DEV_CHANNEL_ASSERTION_KEY
from core.identity.assertion import KEY_ENV as CHANNEL_ASSERTION_KEY_ENV

PROJECT_ROOT = Path(__file__).resolve().parent.parent

logger = logging.getLogger(__name__)

# A development-only key; production must set VERIFICATION_HASH_KEY (see README).
DEV_HASH_KEY = "dev-only-verification-hash-key-change-me"
# DEVELOPMENT ONLY, and public: the Fernet key that encrypts stored phone numbers when neither
# PHONE_ENCRYPTION_KEYS nor PHONE_ENCRYPTION_KEY_FILE is set. It is base64 of
# b"dev-only-phone-encryption-key-32"; anyone can decrypt what it encrypts.
DEV_PHONE_ENCRYPTION_KEY = "ZGV2LW9ubHktcGhvbmUtZW5jcnlwdGlvbi1rZXktMzI="
# DEVELOPMENT ONLY, and public: the HMAC key of the phones' blind index without BLIND_INDEX_KEY.
DEV_BLIND_INDEX_KEY = "dev-only-blind-index-key-change-me"

# The key settings already warned about in this process (see warn_about_dev_keys).
_dev_key_warnings: set[str] = set()
_dev_key_warnings_lock = threading.Lock()


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


def _key_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in env.get(name, "").split(",") if key.strip())


def _phone_key_source(env: Mapping[str, str]) -> tuple[tuple[str, ...], Optional[Path]]:
    keys = _key_list(env, "PHONE_ENCRYPTION_KEYS")
    key_file = env.get("PHONE_ENCRYPTION_KEY_FILE", "").strip()
    if keys and key_file:
        raise ValueError("set PHONE_ENCRYPTION_KEYS or PHONE_ENCRYPTION_KEY_FILE, not both")
    if key_file:
        path = Path(key_file)
        return (), path if path.is_absolute() else PROJECT_ROOT / path
    return keys or (DEV_PHONE_ENCRYPTION_KEY,), None


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
    # Ceilings on the codes sent to one number (an IVR caller's own line has its own pair),
    # and on the codes one source may ask for: one conversation, one client (the channel's
    # keyed hash of its address). CODES_PER_HOUR was RESEND_PER_HOUR (still read).
    codes_per_hour: int = 5
    codes_per_day: int = 10
    own_line_codes_per_hour: int = 5
    own_line_codes_per_day: int = 10
    conversation_codes_per_hour: int = 5
    conversation_codes_per_day: int = 10
    # A client key is per address: generous, as users behind one NAT share it.
    client_codes_per_hour: int = 20
    client_codes_per_day: int = 100
    verified_idle_seconds: int = 600
    refund_window_days: int = 7
    operator_hotline: str = "10086"
    cancel_sms_number: str = "10086"
    cancel_sms_keyword: str = "0000"
    # Who processes the phone numbers (the 个人信息保护法 notice) and how to reach them.
    operator_name: str = "中国移动"
    privacy_contact: str = "10086"
    # Verifies the identities channels vouch for (core.identity.assertion). A secret: out of repr.
    channel_assertion_key: str = field(default=DEV_CHANNEL_ASSERTION_KEY, repr=False)
    # Fernet keys of the stored phones: the first encrypts, all decrypt (rotation). A key file,
    # when set, replaces them (one key per line, the first line encrypts). Secrets: kept out
    # of repr, so that logging the settings does not log them.
    phone_encryption_keys: tuple[str, ...] = field(default=(DEV_PHONE_ENCRYPTION_KEY,), repr=False)
    phone_encryption_key_file: Optional[Path] = None
    blind_index_key: str = field(default=DEV_BLIND_INDEX_KEY, repr=False)
    # Retention (python -m core.store.retention, docs/retention.md): how long each kind of
    # conversation data is kept. The tracker store's URL may hold a password: out of repr.
    code_retention_hours: int = 24
    sms_log_retention_days: int = 90
    handoff_summary_retention_days: int = 30
    conversation_retention_days: int = 30
    tracker_store_url: Optional[str] = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Builds settings from environment variables (os.environ by default)."""
        env = os.environ if env is None else env
        phone_keys, phone_key_file = _phone_key_source(env)
        hotline = env.get("OPERATOR_HOTLINE", "10086")
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
            codes_per_hour=_int(env, "CODES_PER_HOUR", _int(env, "RESEND_PER_HOUR", 5)),
            codes_per_day=_int(env, "CODES_PER_DAY", 10),
            own_line_codes_per_hour=_int(env, "OWN_LINE_CODES_PER_HOUR", 5),
            own_line_codes_per_day=_int(env, "OWN_LINE_CODES_PER_DAY", 10),
            conversation_codes_per_hour=_int(env, "CONVERSATION_CODES_PER_HOUR", 5),
            conversation_codes_per_day=_int(env, "CONVERSATION_CODES_PER_DAY", 10),
            client_codes_per_hour=_int(env, "CLIENT_CODES_PER_HOUR", 20),
            client_codes_per_day=_int(env, "CLIENT_CODES_PER_DAY", 100),
            verified_idle_seconds=_int(env, "VERIFIED_IDLE_SECONDS", 600),
            refund_window_days=_int(env, "REFUND_WINDOW_DAYS", 7),
            operator_hotline=hotline,
            cancel_sms_number=env.get("CANCEL_SMS_NUMBER", "10086"),
            cancel_sms_keyword=env.get("CANCEL_SMS_KEYWORD", "0000"),
            operator_name=env.get("OPERATOR_NAME") or "中国移动",
            privacy_contact=env.get("PRIVACY_CONTACT") or hotline,
            channel_assertion_key=env.get(CHANNEL_ASSERTION_KEY_ENV) or DEV_CHANNEL_ASSERTION_KEY,
            phone_encryption_keys=phone_keys,
            phone_encryption_key_file=phone_key_file,
            blind_index_key=env.get("BLIND_INDEX_KEY") or DEV_BLIND_INDEX_KEY,
            code_retention_hours=_int(env, "CODE_RETENTION_HOURS", 24),
            sms_log_retention_days=_int(env, "SMS_LOG_RETENTION_DAYS", 90),
            handoff_summary_retention_days=_int(env, "HANDOFF_SUMMARY_RETENTION_DAYS", 30),
            conversation_retention_days=_int(env, "CONVERSATION_RETENTION_DAYS", 30),
            tracker_store_url=env.get("TRACKER_STORE_URL") or None,
        )

    @property
    def resend_per_hour(self) -> int:
        """The old name of codes_per_hour."""
        return self.codes_per_hour

    def dev_only_keys(self) -> list[str]:
        """The phone key settings still at their public, development-only defaults."""
        names = []
        if self.phone_encryption_key_file is None and self.phone_encryption_keys[:1] == (
            DEV_PHONE_ENCRYPTION_KEY,
        ):
            names.append("PHONE_ENCRYPTION_KEYS")
        if self.blind_index_key == DEV_BLIND_INDEX_KEY:
            names.append("BLIND_INDEX_KEY")
        return names


def warn_about_dev_keys(settings: Settings) -> None:
    """Logs a loud warning, once per process and setting, for each dev-only phone key in use."""
    for name in settings.dev_only_keys():
        with _dev_key_warnings_lock:
            if name in _dev_key_warnings:
                continue
            _dev_key_warnings.add(name)
        logger.warning(
            "!!! %s is the PUBLIC DEVELOPMENT-ONLY default: stored phone numbers are NOT "
            "protected. Never run production like this; set %s (see README). !!!",
            name,
            "PHONE_ENCRYPTION_KEYS or PHONE_ENCRYPTION_KEY_FILE"
            if name == "PHONE_ENCRYPTION_KEYS"
            else name,
        )
