"""Is the request really from our SMS gateway? An HMAC signature (default) or a shared token.

HMAC mode: the gateway sends `X-SMS-Timestamp: <unix seconds>` and
`X-SMS-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`; the timestamp
must be within `max_age` seconds, so a captured request cannot be replayed later.
Token mode (gateways that cannot sign): `X-SMS-Token: <secret>` or `Authorization: Bearer <secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

logger = logging.getLogger(__name__)

DEV_SECRET = "dev-sms-webhook-secret-not-for-production"
DEFAULT_SECRET_ENV = "SMS_WEBHOOK_SECRET"
TIMESTAMP_HEADER = "x-sms-timestamp"
SIGNATURE_HEADER = "x-sms-signature"
TOKEN_HEADER = "x-sms-token"
MODES = ("hmac", "token")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    message = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass
class GatewayAuth:
    """Checks each webhook request against the shared secret."""

    secret: str
    mode: str = "hmac"
    max_age: float = 300.0
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any], env: Optional[Mapping[str, str]] = None
    ) -> GatewayAuth:
        """`secret`, else the variable named by `secret_env`, else the development secret."""
        env = os.environ if env is None else env
        mode = str(credentials.get("auth", "hmac")).strip().lower()
        if mode not in MODES:
            raise ValueError(f"sms channel: auth must be one of {MODES}, got {mode!r}")
        secret_env = str(credentials.get("secret_env") or DEFAULT_SECRET_ENV)
        secret = str(credentials.get("secret") or env.get(secret_env, "")).strip()
        if not secret:
            logger.warning(
                "sms channel: no gateway secret (%s is unset); using the PUBLIC development "
                "secret. Anyone can post SMS as any phone number. Set %s in production.",
                secret_env,
                secret_env,
            )
            secret = DEV_SECRET
        return cls(secret=secret, mode=mode, max_age=float(credentials.get("max_age", 300)))

    def allows(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the request carries a valid signature (or token, in token mode)."""
        lowered: Dict[str, str] = {k.lower(): v for k, v in headers.items()}
        if self.mode == "token":
            token = lowered.get(TOKEN_HEADER, "")
            bearer = lowered.get("authorization", "")
            if not token and bearer.lower().startswith("bearer "):
                token = bearer[7:]
            return bool(token) and hmac.compare_digest(token.strip().encode(), self.secret.encode())
        timestamp = lowered.get(TIMESTAMP_HEADER, "").strip()
        signature = lowered.get(SIGNATURE_HEADER, "").strip()
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if not signature.isascii():
            return False
        if abs(self.clock() - int(timestamp)) > self.max_age:
            return False
        return hmac.compare_digest(signature.encode(), sign(self.secret, timestamp, body).encode())
