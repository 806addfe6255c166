"""Our chat page at /chat in headless Chromium against the real assistant, store and SMS outbox."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import List

import pytest

from core.store.references import is_valid_reference
from tests.e2e.bot import REFERENCE, Bot

pytestmark = pytest.mark.e2e
ZHANG = "13800138000"
STORAGE_KEY = "tdzs-chat-v1"
BOT_BUBBLES = ".from-bot .bubble"
HOSTILE = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>退订"]


def status_of(bot: Bot, phone: str, product: str) -> str:
    """The store's status of a holder's membership."""
    return next(s.status for s in bot.store.subscriptions(phone) if s.product_name == product)


def bot_texts(page) -> List[str]:
    """Every bot bubble's text, in order."""
    return page.locator(BOT_BUBBLES).all_inner_texts()


def settle(page, before: int, quiet: float = 0.8, timeout: float = 60) -> List[str]:
    """Waits for bot bubbles after the first `before` and until none arrives for `quiet` s."""
    # A locator wait, not wait_for_function: the page's CSP forbids the eval that one needs.
    page.locator(BOT_BUBBLES).nth(before).wait_for(timeout=timeout * 1000)
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        now = page.locator(BOT_BUBBLES).count()
        if now != count:
            count, since = now, time.monotonic()
        time.sleep(0.1)
    return bot_texts(page)[before:]


def open_chat(page, bot: Bot) -> List[str]:
    """Opens /chat and returns the greeting the page asked for on its own."""
    page.goto(f"{bot.url}/chat")
    return settle(page, 0)


def say(page, text: str) -> List[str]:
    """Types `text`, presses Enter, returns the bot's new bubbles."""
    before = page.locator(BOT_BUBBLES).count()
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    return settle(page, before)


def click_reply(page, title: str) -> List[str]:
    """Clicks the enabled quick reply `title` and returns the bot's new bubbles."""
    before = page.locator(BOT_BUBBLES).count()
    page.locator(".quick-reply:enabled", has_text=title).click()
    return settle(page, before)


def stored(page) -> dict:
    """The conversation as the page keeps it in sessionStorage."""
    return json.loads(page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')"))


def api(bot: Bot, path: str, body: object) -> None:
    """POSTs JSON to Rasa's HTTP API (on in the test server, with its token)."""
    request = urllib.request.Request(
        bot.api_url(path),
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_full_cancellation_typed_and_clicked(
    fresh: Bot, page, screenshot, page_errors, socket_frames
) -> None:
    """Typed request, phone, code; 确认取消 clicked; reference shown, copied, kept on reload."""
    greeting = open_chat(page, fresh)
    assert "您好，我是退订助手" in greeting[0]
    page.evaluate(
        """() => { window.__typingSeen = false;
        const typing = document.getElementById('typing');
        new MutationObserver(() => { if (!typing.hidden) window.__typingSeen = true; })
            .observe(typing, {attributes: true}); }"""
    )
    asked = say(page, "帮我把腾讯视频的自动续费关了")
    assert page.evaluate("window.__typingSeen"), "the typing indicator shows while waiting"
    assert page.locator("#typing").is_hidden()
    assert "开通会员的手机号码" in "".join(asked) and "腾讯视频VIP" in "".join(asked)
    sent = say(page, ZHANG)
    assert "验证码已发送到138****8000" in "".join(sent)
    code = fresh.code_for(ZHANG)
    confirm = say(page, f"验证码{code}")
    assert "确认要取消腾讯视频VIP" in confirm[-1]
    assert page.locator(".from-bot").last.locator(".quick-reply").all_inner_texts() == [
        "确认取消",
        "先不取消",
    ]
    screenshot(page, "confirm")
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "active"

    done = click_reply(page, "确认取消")
    assert page.locator(".from-user .bubble").last.inner_text() == "确认取消"
    assert page.locator(".quick-reply", has_text="先不取消").is_disabled()
    reference = page.locator(".reference-number").first.inner_text()
    assert REFERENCE.fullmatch(reference) and is_valid_reference(reference)
    assert any(reference in text for text in done)
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "cancelled"
    assert fresh.store.cancellation(reference).product_name == "腾讯视频VIP"

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=fresh.url)
    page.get_by_role("button", name=f"复制凭证号 {reference}").click()
    assert page.evaluate("navigator.clipboard.readText()") == reference
    assert page.locator("#toast").inner_text() == "凭证号已复制"
    screenshot(page, "reference")

    page.reload()
    page.wait_for_selector(".reference-number")
    assert page.locator(".reference-number").first.inner_text() == reference
    history = json.dumps(stored(page), ensure_ascii=False)
    assert code not in history and ZHANG not in history, "no code or full phone kept in storage"
    assert code not in page.locator("#log").inner_text()
    after = say(page, "价格太贵了")
    assert "感谢" in "".join(after) and "其他会员" in "".join(after)
    assert fresh.store.cancellation(reference).reason == "价格太贵了", "same conversation"
    assert not page_errors


def test_keyboard_alone_picks_from_the_list_and_declines(fresh: Bot, page, screenshot) -> None:
    """Tab to the field, type, Shift+Tab to the numbered choices, Enter/Space: nothing cancelled."""
    open_chat(page, fresh)
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "message":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "message"
    page.keyboard.type("我想取消自动续费")
    page.keyboard.press("Enter")
    settle(page, 1)
    page.keyboard.type(ZHANG)
    before = page.locator(BOT_BUBBLES).count()
    page.keyboard.press("Enter")
    settle(page, before)
    page.keyboard.type(fresh.code_for(ZHANG))
    before = page.locator(BOT_BUBBLES).count()
    page.keyboard.press("Enter")
    listed = settle(page, before)
    assert "1. " in "".join(listed) and "2. " in "".join(listed)

    first = None
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        text = page.evaluate("document.activeElement.textContent")
        if text.startswith("1. "):
            first = text[3:]
            break
    assert first in {"QQ音乐绿钻", "腾讯视频VIP"}
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused choice is visibly marked"
    screenshot(page, "keyboard-focus")
    before = page.locator(BOT_BUBBLES).count()
    page.keyboard.press("Enter")
    asked = settle(page, before)
    assert f"确认要取消{first}" in asked[-1]
    assert page.evaluate("document.activeElement.id") == "message", "focus returns to the field"

    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "先不取消":
            break
    before = page.locator(BOT_BUBBLES).count()
    page.keyboard.press("Space")
    declined = settle(page, before)
    assert "没有取消" in "".join(declined)
    assert status_of(fresh, ZHANG, first) == "active"


def test_human_handoff_is_one_key_away(bot: Bot, page) -> None:
    """转人工 is the first control on the page and hands over."""
    open_chat(page, bot)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "转人工"
    before = page.locator(BOT_BUBBLES).count()
    page.keyboard.press("Enter")
    replies = settle(page, before)
    assert "人工" in "".join(replies)
    assert page.locator(".from-user .bubble").last.inner_text() == "转人工"


@pytest.mark.parametrize("size", [(360, 640), (320, 568)])
def test_fits_a_phone_screen(bot: Bot, page, screenshot, size) -> None:
    """No sideways scrolling; header, 转人工, field and send button all on screen."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_chat(page, bot)
    say(page, "我开了哪些会员，下次什么时候扣费？请帮我查一下腾讯视频VIP和QQ音乐绿钻")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= size[0]
    for selector in ("#human", "#restart", "#message", "#send"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= size[0], selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= size[1], selector
        assert box["height"] >= 32, f"{selector} is big enough to tap"
    screenshot(page, f"{size[0]}x{size[1]}")


def test_markup_typed_or_echoed_is_shown_as_text(bot: Bot, page, page_errors) -> None:
    """User text and bot text that contains HTML are escaped: nothing runs, nothing is inserted."""
    open_chat(page, bot)
    for text in HOSTILE:
        say(page, text)
    user_texts = page.locator(".from-user .bubble").all_inner_texts()
    assert user_texts == HOSTILE
    # The bot echoing markup: a slot set to it, then a response that includes the slot.
    session = stored(page)["sessionId"]
    api(
        bot,
        f"/conversations/web:{session}/tracker/events",
        {"event": "slot", "name": "service", "value": [HOSTILE[0]]},
    )
    before = page.locator(BOT_BUBBLES).count()
    api(
        bot,
        f"/conversations/web:{session}/execute?output_channel=socketio",
        {"name": "utter_ask_cancel_confirmed"},
    )
    echoed = settle(page, before)
    assert HOSTILE[0] in echoed[-1]
    assert page.locator("#log img, #log script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.reload()
    page.wait_for_selector(BOT_BUBBLES)
    assert page.locator("#log img, #log script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert not [e for e in page_errors if "__xss" in e]


def test_silence_from_the_server_becomes_a_busy_notice(bot: Bot, page) -> None:
    """When no reply arrives in time (e.g. the action server is down) the page says so."""

    def shorter_timeout(route) -> None:
        response = route.fetch()
        body = re.sub(r'"replyTimeoutMs": ?\d+', '"replyTimeoutMs": 1500', response.text())
        route.fulfill(response=response, body=body)

    def drop_replies(ws) -> None:
        server = ws.connect_to_server()
        server.on_message(
            lambda message: None
            if isinstance(message, str) and message.startswith('42["bot_uttered"')
            else ws.send(message)
        )

    page.route(f"{bot.url}/chat", shorter_timeout)
    page.route_web_socket(re.compile(r".*/socket\.io/.*"), drop_replies)
    page.goto(f"{bot.url}/chat")
    page.locator("#message").fill("你好")
    page.locator("#message").press("Enter")
    notice = page.locator(".from-system .bubble").last
    notice.wait_for()
    assert notice.inner_text() == "系统繁忙，请稍后再试。"
    assert page.locator("#typing").is_hidden()
    assert page.locator(BOT_BUBBLES).count() == 0


def test_restart_begins_a_new_conversation(bot: Bot, page) -> None:
    """重新开始 clears the page and the stored history and starts a new session."""
    open_chat(page, bot)
    say(page, "你好")
    first = stored(page)["sessionId"]
    page.locator("#restart").click()
    greeting = settle(page, 0)
    assert "您好，我是退订助手" in greeting[0]
    assert page.locator(".from-user").count() == 0
    assert stored(page)["sessionId"] != first


def test_the_page_asks_for_its_own_unguessable_session_id(bot: Bot, page, socket_frames) -> None:
    """The session id is a bearer secret: the page asks for 128 random bits of its own
    (crypto.getRandomValues, 32 hex characters) and the server confirms that very id."""
    open_chat(page, bot)
    say(page, "你好")
    requests = [
        json.loads(frame.partition(" ")[2][2:])[1]
        for frame in socket_frames
        if frame.startswith("→ 42") and '"session_request"' in frame
    ]
    asked = requests[0]["session_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", asked)
    assert stored(page)["sessionId"] == asked
    page.locator("#restart").click()
    settle(page, 0)
    assert stored(page)["sessionId"] not in (asked, None)


def test_copy_works_without_the_clipboard_api(bot: Bot, page) -> None:
    """Where navigator.clipboard is missing (plain http on a LAN), the copy falls back."""
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=bot.url)
    open_chat(page, bot)
    reference = "TD20261124K7M2Q5"
    say(page, f"查一下单号{reference}")
    page.locator(".from-user").get_by_role("button", name=f"复制凭证号 {reference}").click()
    assert page.locator("#toast").inner_text() == "凭证号已复制"
    page.locator("#message").focus()
    page.keyboard.press("Control+V")
    assert page.locator("#message").input_value() == reference
