"""Message metadata a channel vouches for: keys only a channel may set, the client's source.

Whatever a client sends as metadata (REST `metadata`, socket.io `metadata`/`customData`) loses
every key in `core.identity.assertion.RESERVED_METADATA_KEYS`; the channel then adds the keyed hash
of the client's address under `CLIENT_KEY`, which the store uses for per-source ceilings.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, Mapping, Optional

from core.identity.assertion import CLIENT_KEY, RESERVED_METADATA_KEYS

SOURCE_CHARS = 24
# Domain separation: the same key also signs channel assertions.
_SOURCE_LABEL = "client_source:"


# Hex spelled in letters: a digit run in the hash would look like a code to the redaction
# that every stored event passes through (and cost its slow path on every turn).
_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def client_source(key: str, address: str) -> str:
    """A keyed hash (HMAC-SHA256) of a client's address, in letters a-p: stable per address,
    not reversible, and nothing the redaction would touch."""
    message = (_SOURCE_LABEL + address).encode("utf-8")
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return digest[:SOURCE_CHARS].translate(_HEX_AS_LETTERS)


def without_reserved(metadata: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A client's metadata without the keys only a channel may set."""
    if not isinstance(metadata, Mapping):
        return {}
    return {k: v for k, v in metadata.items() if k not in RESERVED_METADATA_KEYS}


def client_metadata(
    metadata: Optional[Mapping[str, Any]], *, key: str, address: str
) -> Dict[str, Any]:
    """A client's metadata made safe: reserved keys dropped, the client's source added."""
    return {**without_reserved(metadata), CLIENT_KEY: client_source(key, address)}


def request_address(request: Any) -> str:
    """A Sanic request's client address: the proxy-reported one when Sanic trusts a proxy."""
    # remote_addr is only filled in when FORWARDED_SECRET / REAL_IP_HEADER / PROXIES_COUNT
    # are configured; otherwise it is "" and the socket's peer (request.ip) is the client.
    return str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "")
