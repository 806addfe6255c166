"""The open widget people embed, rasa-webchat 1.0.1 (npm), against our server across a reload.

The widget's test page is served at https://shop.example.cn (a listed CORS origin) by
Playwright's request routing from local files, so the widget talks to the Rasa server
cross-origin, as it does when a partner site embeds it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import List

import pytest

from core.store.references import is_valid_reference
from tests.e2e.bot import CORS, REFERENCE, Bot

pytestmark = pytest.mark.e2e
ZHANG = "13800138000"
ORIGIN = CORS.split(",")[0]
RESPONSES = ".rw-response .rw-message-text"
OUTSIDE = re.compile(r"^https?://(?!shop\.example\.cn/|127\.0\.0\.1[:/])")
PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>合作方页面</title>
<style>html, body, #webchat { margin: 0; height: 100%; }</style></head>
<body>
<div id="webchat"></div>
<script src="/webchat.js"></script>
<script>
  WebChat.default({
    selector: "#webchat",
    initPayload: "/greet",
    socketUrl: __SERVER__,
    socketPath: "/socket.io/",
    title: "退订助手",
    subtitle: "在线客服",
    inputTextFieldHint: "请输入您的问题",
    embedded: true,
    showMessageDate: false,
    params: {storage: "session"}
  }, null);
</script>
</body>
</html>
"""


def responses(page) -> List[str]:
    """The widget's bot bubbles, in order."""
    return page.locator(RESPONSES).all_inner_texts()


def wait_for_reply(page, before: int, needle: str, timeout: float = 60) -> List[str]:
    """The bot bubbles after the first `before`, once one of them contains `needle`.

    rasa-webchat shows a turn's messages one by one with a delay, so waiting for quiet is not
    enough: the test waits for the text it expects.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = responses(page)[before:]
        if any(needle in text for text in new):
            return new
        time.sleep(0.2)
    raise AssertionError(f"no reply containing {needle!r}; got {responses(page)[before:]}")


def say(page, text: str, needle: str) -> List[str]:
    """Types into the widget, sends, returns the new bot bubbles once `needle` shows."""
    before = page.locator(RESPONSES).count()
    page.locator(".rw-new-message").fill(text)
    page.locator(".rw-new-message").press("Enter")
    return wait_for_reply(page, before, needle)


def serve_partner_page(page, bot: Bot, bundle: Path) -> None:
    """Answers https://shop.example.cn/ with the test page and the widget's bundle."""
    html = PAGE.replace("__SERVER__", json.dumps(bot.url))
    # The partner's page is "public" and the server is on loopback: Chromium's Local Network
    # Access asks the user first; here the permission is granted as a user would.
    page.context.grant_permissions(["local-network-access"], origin=ORIGIN)
    # rasa-webchat asks Google Fonts for its font; nothing leaves this machine in a test.
    page.route(OUTSIDE, lambda route: route.abort())
    page.route(
        f"{ORIGIN}/",
        lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
    )
    page.route(
        f"{ORIGIN}/webchat.js",
        lambda route: route.fulfill(path=str(bundle), content_type="application/javascript"),
    )


def test_rasa_webchat_cancels_across_a_reload(
    fresh: Bot, page, webchat_bundle: Path, screenshot, page_errors
) -> None:
    """Greeting, request and phone; reload; code, 确认取消 button: cancelled, reference shown."""
    serve_partner_page(page, fresh, webchat_bundle)
    page.goto(f"{ORIGIN}/")
    wait_for_reply(page, 0, "您好，我是退订助手")
    say(page, "帮我把腾讯视频的自动续费关了", "手机号")
    say(page, ZHANG, "请告诉我短信中的6位验证码")
    shown_before = responses(page)
    assert any("验证码已发送到138****8000" in text for text in shown_before)

    page.reload()
    page.locator(RESPONSES).nth(len(shown_before) - 1).wait_for()
    assert responses(page) == shown_before, "the widget keeps the conversation on reload"
    # The widget resumed the same session: the bot's replies reach the reloaded page.
    say(page, f"验证码{fresh.code_for(ZHANG)}", "确认要取消腾讯视频VIP")
    page.locator(".rw-reply", has_text="先不取消").last.wait_for()
    replies = page.locator(".rw-reply")
    assert replies.all_inner_texts()[-2:] == ["确认取消", "先不取消"]
    screenshot(page, "confirm")

    before = page.locator(RESPONSES).count()
    page.locator(".rw-reply", has_text="确认取消").last.click()
    done = wait_for_reply(page, before, "凭证号")
    reference = next(m.group(0) for text in done for m in [REFERENCE.search(text)] if m)
    assert is_valid_reference(reference)
    assert fresh.store.cancellation(reference).product_name == "腾讯视频VIP"
    screenshot(page, "done")
    assert not [e for e in page_errors if "CORS" in e or "socket" in e.lower()]
