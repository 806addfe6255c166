"""The chat page's files: which are served, their types, and the page filled with its texts."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any, Dict

STATIC = Path(__file__).resolve().parent / "static"
ASSETS: Dict[str, str] = {
    "chat.css": "text/css; charset=utf-8",
    "chat.js": "application/javascript; charset=utf-8",
    "socket.io.min.js": "application/javascript; charset=utf-8",
    "socket.io-client.LICENSE": "text/plain; charset=utf-8",
}
_LOCATIONS = {
    "socket.io.min.js": "vendor/socket.io.min.js",
    "socket.io-client.LICENSE": "vendor/socket.io-client.LICENSE",
}


@dataclass(frozen=True)
class PageSettings:
    """What the page needs to know about the server it talks to."""

    socket_path: str = "/socket.io"
    reply_timeout_ms: int = 20_000
    init_payload: str = "/greet"
    max_message_chars: int = 500


@cache
def asset_bytes(name: str) -> bytes:
    """The content of one whitelisted asset (read once, then kept in memory)."""
    return (STATIC / _LOCATIONS.get(name, name)).read_bytes()


def asset_version(name: str) -> str:
    """A short content hash, added to the asset's URL so browsers never run a stale copy."""
    return hashlib.sha256(asset_bytes(name)).hexdigest()[:12]


def script_json(value: Any) -> str:
    """JSON safe inside a <script type="application/json"> element (no `</script>` breakout)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(
    title: str, subtitle: str, description: str, strings: Dict[str, str], settings: PageSettings
) -> str:
    """The chat page's HTML with its texts escaped and the client's configuration embedded."""
    config = {
        "socketPath": settings.socket_path,
        "replyTimeoutMs": settings.reply_timeout_ms,
        "initPayload": settings.init_payload,
        "maxMessageChars": settings.max_message_chars,
        "strings": strings,
    }
    fields = {
        key: html.escape(value)
        for key, value in {
            **strings,
            "title": title,
            "subtitle": subtitle,
            "description": description,
        }.items()
    }
    fields.update(
        max_chars=str(settings.max_message_chars),
        config=script_json(config),
        v_css=asset_version("chat.css"),
        v_js=asset_version("chat.js"),
        v_sio=asset_version("socket.io.min.js"),
    )
    template = Template((STATIC / "index.html").read_text(encoding="utf-8"))
    return template.substitute(fields)
