"""The chat page over plain HTTP on the running server: files, headers, errors, CORS."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from email.message import Message
from typing import Dict, Optional, Tuple
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.bot import CORS, Bot

pytestmark = pytest.mark.e2e
ALLOWED_ORIGIN = CORS.split(",")[0]


def fetch(
    bot: Bot, path: str, method: str = "GET", headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Message, bytes]:
    """(status, headers (case-insensitive), body) of one request; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(
        f"{bot.url}{path}",
        method=method,
        headers=headers or {},
        data=b"{}" if method != "GET" and method != "HEAD" else None,
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_page_is_served_in_chinese_with_a_strict_policy(bot: Bot) -> None:
    status, headers, body = fetch(bot, "/chat")
    page = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page and "退订助手" in page and "转人工" in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    for src in re.findall(r'(?:src|href)="(/chat/static/[^"]+)"', page):
        status, asset_headers, asset = fetch(bot, src)
        assert status == 200 and asset, src
        assert asset_headers["Content-Type"].split(";")[0] in {"text/css", "application/javascript"}


def test_trailing_slash_redirects_to_the_page(bot: Bot) -> None:
    status, headers, _ = fetch(bot, "/chat/")
    assert status == 301 and headers["Location"].endswith("/chat")


@pytest.mark.parametrize(
    "path",
    [
        "/chat/static/../../credentials.yml",
        "/chat/static/%2e%2e%2fcredentials.yml",
        "/chat/static/vendor/socket.io.min.js",
        "/chat/static/%ff%fe",
        "/chat/static/chat.js%00.png",
        "/chat/static/" + "a" * 3000,
        "/chat/nothing-here",
    ],
)
def test_unknown_files_are_a_json_404(bot: Bot, path: str) -> None:
    status, headers, body = fetch(bot, path)
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"error": "not_found", "message": "请求的页面或文件不存在"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/chat", "/chat/static/chat.js", "/chat/x"])
def test_other_methods_are_a_json_405(bot: Bot, method: str, path: str) -> None:
    status, headers, body = fetch(bot, path, method=method)
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert json.loads(body)["error"] == "method_not_allowed"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    suffix=st.text(max_size=40),
    query=st.text(max_size=40),
    method=st.sampled_from(["GET", "HEAD", "POST", "DELETE"]),
)
def test_any_request_under_chat_is_answered_without_a_server_error(
    bot: Bot, suffix: str, query: str, method: str
) -> None:
    """Arbitrary paths and query strings: 2xx, 3xx or a 4xx JSON error, never a 5xx."""
    path = "/chat" + ("/" + quote(suffix, safe="") if suffix else "")
    status, headers, body = fetch(bot, f"{path}?{quote(query, safe='=&')}", method=method)
    assert status < 500
    if status >= 400 and method != "HEAD":
        data = json.loads(body)
        assert data["error"] and data["message"]


def test_cross_origin_requests_from_listed_origins_only(bot: Bot) -> None:
    """The page's files and the socket.io handshake answer CORS for the listed origins."""
    for path in ("/chat/health", "/socket.io/?EIO=4&transport=polling"):
        _, allowed, _ = fetch(bot, path, headers={"Origin": ALLOWED_ORIGIN})
        assert allowed.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN, path
        _, other, _ = fetch(bot, path, headers={"Origin": "https://evil.example.com"})
        assert other.get("Access-Control-Allow-Origin") is None, path
