"""SMS gateways: the development outbox file and a real HTTP provider, chosen by SMS_GATEWAY."""

from __future__ import annotations

import os
from typing import Mapping, Optional

from core.settings import Settings
from core.sms.base import SmsError, SmsGateway
from core.sms.http import HttpSmsGateway
from core.sms.outbox import OutboxSmsGateway

__all__ = [
    "HttpSmsGateway",
    "OutboxSmsGateway",
    "SmsError",
    "SmsGateway",
    "build_sms_gateway",
]

DEFAULT_HTTP_TIMEOUT_SECONDS = 5.0


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"SMS_GATEWAY=http needs {name} to be set")
    return value


def _timeout(env: Mapping[str, str]) -> float:
    raw = env.get("SMS_HTTP_TIMEOUT_SECONDS", "").strip()
    if not raw:
        return DEFAULT_HTTP_TIMEOUT_SECONDS
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"SMS_HTTP_TIMEOUT_SECONDS must be a number, got {raw!r}") from exc


def build_sms_gateway(settings: Settings, env: Optional[Mapping[str, str]] = None) -> SmsGateway:
    """Builds the gateway named by SMS_GATEWAY: 'outbox' (default) or 'http'."""
    env = os.environ if env is None else env
    kind = env.get("SMS_GATEWAY", "").strip().lower() or "outbox"
    if kind == "outbox":
        return OutboxSmsGateway(settings.sms_outbox)
    if kind == "http":
        return HttpSmsGateway(
            url=_required(env, "SMS_HTTP_URL"),
            token=_required(env, "SMS_HTTP_TOKEN"),
            timeout=_timeout(env),
        )
    raise ValueError(f"SMS_GATEWAY must be 'outbox' or 'http', got {kind!r}")
