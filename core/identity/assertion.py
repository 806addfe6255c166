"""Signed channel assertions: "on this channel, in this conversation, the user is on this phone".

A channel that knows the user's number from its platform (the SMS gateway's authenticated
sender; an IVR caller's number) signs a short-lived assertion with CHANNEL_ASSERTION_KEY and
puts it in the message metadata under METADATA_KEY. The action server verifies the MAC, the
channel, the conversation and the age before the store records anything. Nothing else in a
tracker (slots, metadata, `input_channel`) says who the user is.

Format: `v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256(key, "v1." + payload part))>`,
payload {"ch", "conv", "phone", "src", "iat"} (iat: Unix seconds).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from core.identity.conversation import channel_of

VERSION = "v1"
METADATA_KEY = "channel_assertion"
KEY_ENV = "CHANNEL_ASSERTION_KEY"
# DEVELOPMENT ONLY, and public: used when CHANNEL_ASSERTION_KEY is unset outside production
# (the launcher sets a random one per run). Production refuses to start with it.
DEV_KEY = "dev-only-channel-assertion-key-change-me"
MAX_AGE_SECONDS = 120
MAX_CLOCK_SKEW_SECONDS = 30
# What a source proves: an SMS sender is authenticated by the carrier (proof of the phone);
# an IVR caller number (ANI) can be spoofed, so it only says where to send the code.
SOURCES = {"sms_sender": "sms", "caller_id": "ivr"}
PROVING_SOURCES = frozenset({"sms_sender"})


class InvalidAssertion(ValueError):
    """The assertion is malformed, forged, stale, or made for another conversation."""


@dataclass(frozen=True)
class Assertion:
    """A verified assertion."""

    channel: str
    conversation_id: str
    phone: str
    source: str
    issued_at: int

    @property
    def proves_phone(self) -> bool:
        """Whether this source proves the user holds the phone (no code needed)."""
        return self.source in PROVING_SOURCES


def key_from_env(env: Optional[Mapping[str, str]] = None) -> str:
    """CHANNEL_ASSERTION_KEY, or the public development key when it is unset."""
    env = os.environ if env is None else env
    return env.get(KEY_ENV) or DEV_KEY


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, signed: str) -> bytes:
    return hmac.new(key.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest()


def sign(
    key: str,
    *,
    conversation_id: str,
    phone: str,
    source: str,
    now: Optional[float] = None,
) -> str:
    """An assertion by the channel that owns `conversation_id` that the user is on `phone`."""
    channel = channel_of(conversation_id)
    if channel is None or SOURCES.get(source) != channel:
        raise ValueError(f"source {source!r} cannot vouch in conversation {conversation_id!r}")
    payload = {
        "ch": channel,
        "conv": conversation_id,
        "phone": phone,
        "src": source,
        "iat": int(time.time() if now is None else now),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{VERSION}.{body}"
    return f"{signed}.{_b64(_mac(key, signed))}"


def verify(
    key: str,
    token: object,
    *,
    conversation_id: str,
    now: Optional[float] = None,
    max_age: float = MAX_AGE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> Assertion:
    """The assertion in `token` if genuine, fresh and made for `conversation_id`; else raises."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidAssertion("malformed")
    version, body, mac = token.split(".")
    if version != VERSION:
        raise InvalidAssertion("unknown version")
    try:
        given = _unb64(mac)
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidAssertion("malformed") from exc
    if not hmac.compare_digest(given, _mac(key, f"{version}.{body}")):
        raise InvalidAssertion("bad signature")
    if not isinstance(payload, dict):
        raise InvalidAssertion("malformed")
    channel, conv = payload.get("ch"), payload.get("conv")
    phone, source, issued = payload.get("phone"), payload.get("src"), payload.get("iat")
    if not all(isinstance(v, str) for v in (channel, conv, phone, source)) or not isinstance(
        issued, int
    ):
        raise InvalidAssertion("malformed")
    if conv != conversation_id or channel_of(conv) != channel or SOURCES.get(source) != channel:
        raise InvalidAssertion("made for another conversation or channel")
    current = clock() if now is None else now
    if issued > current + MAX_CLOCK_SKEW_SECONDS or current - issued > max_age:
        raise InvalidAssertion("expired")
    return Assertion(channel, conv, phone, source, issued)

# Metadata keys only a channel may set: a channel drops them from whatever a client sent.
# CLIENT_KEY holds a keyed hash of the client's address (the per-source ceilings' key).
CLIENT_KEY = "client_source"
RESERVED_METADATA_KEYS = ("identity", METADATA_KEY, CLIENT_KEY)
