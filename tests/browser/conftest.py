"""Headless Chromium (Debian's) driven by Playwright against the running assistant.

Skipped with the reason when Chromium, Playwright or the npm packages are missing, except on
CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterator, List

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
WEBCHAT_BUNDLE = HERE / "node_modules" / "rasa-webchat" / "lib" / "index.js"
PHONE = {"width": 390, "height": 844}


def missing(reason: str) -> None:
    """Skips the test, or fails it on CI where every browser test must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    """Debian's Chromium (or CHROMIUM_PATH); Playwright cannot download its own here."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        missing("Chromium is not installed: apt-get install -y chromium fonts-noto-cjk")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module.

    Not per session: Playwright's sync API holds an asyncio loop in the main thread while it
    runs, which would break later tests that call asyncio.run().
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed: pip install -e '.[browser]'")
    executable = chromium_path()
    with sync_playwright() as playwright:
        # --no-sandbox: tests run as root in a container, where Chromium's sandbox cannot start.
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page_errors() -> List[str]:
    """JavaScript errors and failed requests seen by the test's page."""
    return []


@pytest.fixture
def page(browser, page_errors: List[str]) -> Iterator[object]:
    """A fresh phone-sized page (own storage and cookies) in Chinese."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.on("pageerror", lambda exc: page_errors.append(f"pageerror: {exc}"))
    tab.on(
        "console",
        lambda msg: page_errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    yield tab
    context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    """Saves a screenshot of the viewport under tests/browser/artifacts/ and prints its path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(tab, label: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{label}.png"
        tab.screenshot(path=str(path))
        print(f"screenshot: {path}")
        return path

    return take


@pytest.fixture(scope="session")
def webchat_bundle() -> Path:
    """rasa-webchat 1.0.1's UMD bundle, installed by `npm ci` in tests/browser."""
    if not WEBCHAT_BUNDLE.exists():
        missing("rasa-webchat is not installed: run `npm ci` in tests/browser (needs node/npm)")
    return WEBCHAT_BUNDLE


@pytest.fixture
def socket_frames(page, request: pytest.FixtureRequest) -> Iterator[List[str]]:
    """The page's socket.io frames, saved under artifacts/ (codes masked) after the test."""
    frames: List[str] = []

    def watch(ws) -> None:
        ws.on("framesent", lambda payload: frames.append(f"→ {payload}"))
        ws.on("framereceived", lambda payload: frames.append(f"← {payload}"))

    page.on("websocket", watch)
    yield frames
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{request.node.name}-socket.txt"
    path.write_text("\n".join(readable(f) for f in frames) + "\n", encoding="utf-8")
    print(f"socket.io frames: {path}")


def readable(frame: str) -> str:
    """A socket.io event frame with its Chinese unescaped and verification codes masked."""
    direction, _, payload = frame.partition(" ")
    if not payload.startswith("42"):
        return frame
    event = json.loads(payload[2:])
    if event[0] == "user_uttered" and isinstance(event[1].get("message"), str):
        event[1]["message"] = re.sub(r"(?<!\d)\d{6}(?!\d)", "******", event[1]["message"])
    return f"{direction} 42{json.dumps(event, ensure_ascii=False)}"
