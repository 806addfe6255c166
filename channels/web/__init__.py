"""The web chat page: GET /chat serves a Chinese chat page that talks to Rasa's socket.io channel.

The page itself sends nothing over HTTP: its messages go over the `socketio` channel
(credentials.yml, session persistence on), so this channel only serves files.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import templates
from channels.guard import MAX_MESSAGE_CHARS, RequestRejected
from channels.web.assets import ASSETS, PageSettings, asset_bytes, render_page
from channels.web.checks import METHODS, check_asset_name, error, read_only

PAGE_PATH = "/chat"
# The page may only talk to its own server; frame-ancestors keeps other sites from framing
# it to trick a click on 确认取消.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)


def security_headers(frame_ancestors: str) -> Dict[str, str]:
    """Headers sent with every file of the page."""
    return {
        "Content-Security-Policy": CSP.format(ancestors=frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class ChatPageInput(InputChannel):
    """Serves GET /chat (the page), /chat/static/<file> (its assets) and /chat/health."""

    @classmethod
    def name(cls) -> str:
        """The channel's name in credentials.yml and Rasa's logs."""
        return "chatpage"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Reads `reply_timeout_seconds`, `socketio_path`, `init_payload`, `frame_ancestors`."""
        credentials = credentials or {}
        timeout = float(credentials.get("reply_timeout_seconds", 20))
        return cls(
            PageSettings(
                socket_path=str(credentials.get("socketio_path", "/socket.io")),
                reply_timeout_ms=max(1000, int(timeout * 1000)),
                init_payload=str(credentials.get("init_payload", "/greet")),
                max_message_chars=MAX_MESSAGE_CHARS,
            ),
            frame_ancestors=str(credentials.get("frame_ancestors", "'self'")),
        )

    def __init__(
        self, settings: Optional[PageSettings] = None, frame_ancestors: str = "'self'"
    ) -> None:
        """The page's settings; the defaults match Rasa's socketio channel."""
        self.settings = settings or PageSettings()
        self.frame_ancestors = frame_ancestors

    def url_prefix(self) -> str:
        """Mounts the routes at the site root so the page lives at /chat, not /webhooks/....

        Rasa joins this with "/webhooks/" using urljoin, which keeps an absolute path as is.
        """
        return "/"

    def page(self) -> str:
        """The page's HTML."""
        return render_page(
            templates.WEB_PAGE_TITLE,
            templates.WEB_PAGE_SUBTITLE,
            templates.WEB_PAGE_DESCRIPTION,
            templates.WEB_STRINGS,
            self.settings,
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The page, its assets, a health route, and JSON errors for anything else under /chat."""
        bp = Blueprint(f"chatpage_{type(self).__name__}", __name__)
        headers = security_headers(self.frame_ancestors)

        @bp.route(PAGE_PATH, methods=METHODS)
        @read_only
        async def page(request: Request) -> HTTPResponse:
            return response.html(self.page(), headers={**headers, "Cache-Control": "no-cache"})

        @bp.route(f"{PAGE_PATH}/health", methods=METHODS)
        @read_only
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route(f"{PAGE_PATH}/static/<name:path>", methods=METHODS)
        @read_only
        async def asset(request: Request, name: str) -> HTTPResponse:
            try:
                checked = check_asset_name(name)
            except RequestRejected as exc:
                return error(exc.code, exc.status)
            return response.raw(
                asset_bytes(checked),
                content_type=ASSETS[checked],
                # URLs carry a content hash (?v=...), so a cached copy is never stale.
                headers={**headers, "Cache-Control": "public, max-age=86400"},
            )

        @bp.route(f"{PAGE_PATH}/<rest:path>", methods=METHODS)
        @read_only
        async def unknown(request: Request, rest: str) -> HTTPResponse:
            if not rest:  # /chat/ → the one URL of the page
                return response.redirect(PAGE_PATH, status=301)
            return error("not_found", 404)

        return bp
