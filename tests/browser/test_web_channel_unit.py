"""The chat page's channel without a server: asset names, the rendered page, errors, settings."""

from __future__ import annotations

import asyncio
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.guard import RequestRejected
from channels.web import ChatPageInput, security_headers
from channels.web.assets import ASSETS, PageSettings, asset_bytes, render_page, script_json
from channels.web.checks import check_asset_name, error, read_only

CONFIG = re.compile(r'<script type="application/json" id="chat-config">(.*?)</script>', re.S)


def page_config(page: str) -> dict:
    """The JSON configuration embedded in the page."""
    match = CONFIG.search(page)
    assert match, "the page embeds its configuration"
    return json.loads(match.group(1))


def test_every_listed_asset_is_served_and_nothing_else() -> None:
    for name in ASSETS:
        assert check_asset_name(name) == name
        assert asset_bytes(name)
    for name in ("../credentials.yml", "vendor/socket.io.min.js", "index.html", "", "CHAT.JS"):
        with pytest.raises(RequestRejected) as caught:
            check_asset_name(name)
        assert (caught.value.status, caught.value.code) == (404, "not_found")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80) | st.sampled_from(sorted(ASSETS)))
def test_any_asset_name_is_served_or_a_404(name: str) -> None:
    """Whatever the path says (traversal, control characters, %-escapes): a file of ours or 404."""
    try:
        assert check_asset_name(name) in ASSETS
    except RequestRejected as exc:
        assert exc.status == 404 and exc.code == "not_found"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=5))
def test_embedded_json_cannot_close_its_script_element(value: dict) -> None:
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == value


def test_page_has_the_texts_the_settings_and_versioned_assets() -> None:
    page = ChatPageInput(PageSettings(reply_timeout_ms=5000)).page()
    assert '<html lang="zh-CN">' in page and "<title>退订助手</title>" in page
    assert templates.WEB_STRINGS["human"] in page  # the 转人工 entry is on the page itself
    config = page_config(page)
    assert config["socketPath"] == "/socket.io"
    assert config["replyTimeoutMs"] == 5000
    assert config["initPayload"] == "/greet"
    assert config["strings"]["busy"] == "系统繁忙，请稍后再试。"
    for name in ("chat.css", "chat.js", "socket.io.min.js"):
        assert re.search(rf"/chat/static/{re.escape(name)}\?v=[0-9a-f]{{12}}", page)
    assert "$" not in page.replace("$1", ""), "every placeholder is filled"


def test_page_texts_are_escaped() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    strings = {**templates.WEB_STRINGS, "placeholder": hostile, "copy": "</script><b>"}
    page = render_page(hostile, "副标题", "描述", strings, PageSettings())
    assert "<img" not in page and "</script><b>" not in page
    assert html.escape(hostile) in page
    assert page_config(page)["strings"]["copy"] == "</script><b>"


def test_no_outside_host_is_referenced() -> None:
    """Fonts, scripts and styles all come from this server."""
    page = ChatPageInput().page()
    for text in (page, asset_bytes("chat.css").decode(), asset_bytes("chat.js").decode()):
        assert not re.search(r"(src|href)=\"(https?:)?//", text)
        assert "@import" not in text and "url(http" not in text and "fonts.googleapis" not in text


def test_vendored_socket_io_keeps_its_licence() -> None:
    bundle = asset_bytes("socket.io.min.js").decode()
    assert bundle.startswith("/*!\n * Socket.IO v4.")
    assert "MIT License" in bundle[:200]
    assert "Permission is hereby granted" in asset_bytes("socket.io-client.LICENSE").decode()


def test_credentials_and_defaults() -> None:
    channel = ChatPageInput.from_credentials(
        {"reply_timeout_seconds": 7.5, "socketio_path": "/ws", "frame_ancestors": "https://a.cn"}
    )
    assert channel.name() == "chatpage"
    assert channel.settings.reply_timeout_ms == 7500
    assert channel.settings.socket_path == "/ws"
    assert (
        "frame-ancestors https://a.cn"
        in security_headers(channel.frame_ancestors)["Content-Security-Policy"]
    )
    default = ChatPageInput.from_credentials(None)
    assert default.settings == PageSettings()
    assert (
        ChatPageInput.from_credentials({"reply_timeout_seconds": 0}).settings.reply_timeout_ms
        == 1000
    )


def test_routes_are_mounted_at_the_site_root() -> None:
    """Rasa mounts channels at urljoin("/webhooks/", url_prefix()): ours stays at /chat."""
    assert urljoin("/webhooks/", ChatPageInput().url_prefix()) == "/"
    blueprint = ChatPageInput().blueprint(lambda message: None)
    uris = {route.uri for route in blueprint._future_routes}
    assert {"/chat", "/chat/health", "/chat/static/<name:path>", "/chat/<rest:path>"} <= uris


def test_errors_are_json_with_a_chinese_message() -> None:
    response = error("not_found", 404)
    assert response.status == 404 and response.content_type == "application/json"
    assert json.loads(response.body) == {"error": "not_found", "message": "请求的页面或文件不存在"}
    refused = error("method_not_allowed", 405)
    assert refused.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(("method", "status"), [("GET", 200), ("HEAD", 200), ("POST", 405)])
def test_only_get_and_head_reach_a_handler(method: str, status: int) -> None:
    @read_only
    async def handler(request):
        return error("not_found", 200)

    # In a thread: Playwright's sync API may hold this thread's event loop in a browser session.
    with ThreadPoolExecutor(max_workers=1) as pool:
        response = pool.submit(asyncio.run, handler(SimpleNamespace(method=method))).result()
    assert response.status == status


def test_a_missing_browser_skips_locally_and_fails_on_ci(monkeypatch) -> None:
    from tests.browser.conftest import missing

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium"):
        missing("Chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium"):
        missing("Chromium is not installed")


def test_socketio_server_keeps_enter_room_synchronous() -> None:
    """Rasa 3.6 calls sio.enter_room() without await; from python-socketio 5.10 on it is a
    coroutine, the room is never joined and replies never reach a page with session
    persistence. pyproject.toml pins 5.9.0: this catches an upgrade."""
    import inspect
    from importlib.metadata import version

    import socketio

    assert version("python-socketio") == "5.9.0"
    assert not inspect.iscoroutinefunction(socketio.AsyncServer.enter_room)
