"""The SMS gateways (outbox file, HTTP provider), their factory and the SMS texts."""

from __future__ import annotations

import json
import multiprocessing
import re
import socket
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

from core.settings import Settings
from core.sms import (
    HttpSmsGateway,
    OutboxSmsGateway,
    SmsError,
    SmsGateway,
    build_sms_gateway,
    templates,
)
from core.sms.outbox import find_code, latest_code, read_outbox

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
SIX_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
REFERENCE = "TD20261124K7M2Q5"


# --- outbox gateway ---------------------------------------------------------------------


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    # A nested folder that does not exist yet: the gateway must create it.
    return tmp_path / "var" / "nested" / "sms_outbox.jsonl"


def test_outbox_writes_one_json_object_per_line(outbox: Path) -> None:
    gateway = OutboxSmsGateway(outbox)
    before = datetime.now(timezone.utc)
    gateway.send(PHONE, "【退订助手】验证码482913，5分钟内有效。")
    gateway.send(OTHER_PHONE, "第二条")
    after = datetime.now(timezone.utc)

    lines = outbox.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"to", "text", "sent_at"}
    assert first["to"] == PHONE
    assert first["text"] == "【退订助手】验证码482913，5分钟内有效。"
    sent_at = datetime.fromisoformat(first["sent_at"])
    assert sent_at.tzinfo is not None
    assert before - timedelta(milliseconds=1) <= sent_at <= after
    assert json.loads(lines[1])["to"] == OTHER_PHONE


def test_outbox_keeps_chinese_readable(outbox: Path) -> None:
    OutboxSmsGateway(outbox).send(PHONE, "退订成功")
    raw = outbox.read_text(encoding="utf-8")
    assert "退订成功" in raw
    assert "\\u" not in raw


def test_outbox_uses_the_injected_clock(outbox: Path) -> None:
    moment = datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)
    OutboxSmsGateway(outbox, clock=lambda: moment).send(PHONE, "hi")
    assert read_outbox(outbox)[0]["sent_at"] == "2026-11-24T08:30:00.000+00:00"


def test_outbox_refuses_a_naive_clock(outbox: Path) -> None:
    gateway = OutboxSmsGateway(outbox, clock=lambda: datetime(2026, 11, 24, 8, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway.send(PHONE, "hi")


@pytest.mark.parametrize(
    "to",
    [
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "23800138000",  # does not start with 1
        "138 0013 8000",
        "1380013800a",
        "１３８００１３８０００",  # full-width digits are digits to str.isdigit, not to us
        "13800138000\n",
        "",
    ],
)
def test_outbox_rejects_bad_numbers_and_writes_nothing(outbox: Path, to: str) -> None:
    with pytest.raises(SmsError, match="11 ASCII digits"):
        OutboxSmsGateway(outbox).send(to, "hello")
    assert not outbox.exists()


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_outbox_rejects_empty_text(outbox: Path, text: str) -> None:
    with pytest.raises(SmsError, match="empty"):
        OutboxSmsGateway(outbox).send(PHONE, text)
    assert not outbox.exists()


def test_outbox_write_failure_is_an_sms_error_without_the_text(tmp_path: Path) -> None:
    # The outbox path is a folder, so opening it for writing fails.
    folder = tmp_path / "outbox_is_a_folder"
    folder.mkdir()
    with pytest.raises(SmsError) as caught:
        OutboxSmsGateway(folder).send(PHONE, "验证码482913")
    assert "482913" not in str(caught.value)
    assert "138****8000" in str(caught.value)


def test_outbox_satisfies_the_gateway_interface(outbox: Path) -> None:
    gateway: SmsGateway = OutboxSmsGateway(outbox)
    gateway.send(PHONE, "ok")
    assert len(read_outbox(outbox)) == 1


def _long_text(writer: int, index: int) -> str:
    # Long lines (≈1.5 KB) make interleaved writes likely if the appends were not atomic.
    return f"writer{writer}-msg{index}-" + "退订" * 250


def _send_many(path: str, writer: int, count: int) -> None:
    gateway = OutboxSmsGateway(path)
    for index in range(count):
        gateway.send(PHONE, _long_text(writer, index))


def _assert_exactly(path: Path, writers: int, count: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == writers * count
    texts = Counter(json.loads(line)["text"] for line in lines)
    expected = Counter(_long_text(w, i) for w in range(writers) for i in range(count))
    assert texts == expected


def test_concurrent_appends_from_threads_give_intact_lines(outbox: Path) -> None:
    writers, count = 8, 50
    threads = [
        threading.Thread(target=_send_many, args=(str(outbox), w, count)) for w in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_exactly(outbox, writers, count)


def test_concurrent_appends_from_processes_give_intact_lines(outbox: Path) -> None:
    writers, count = 4, 100
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_send_many, args=(str(outbox), w, count)) for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    _assert_exactly(outbox, writers, count)


def test_read_outbox_is_empty_before_the_first_message(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "missing.jsonl") == []
    assert latest_code(tmp_path / "missing.jsonl", PHONE) is None


def test_latest_code_picks_the_newest_code_to_that_number(outbox: Path) -> None:
    gateway = OutboxSmsGateway(outbox)
    gateway.send(PHONE, templates.verification_code("111111", 5))
    gateway.send(PHONE, templates.verification_code("222222", 5))
    gateway.send(OTHER_PHONE, templates.verification_code("333333", 5))
    # A later receipt carries no code (its reference has an 8-digit run only).
    gateway.send(PHONE, templates.cancellation_receipt("腾讯视频VIP", REFERENCE, date(2026, 12, 5)))

    assert latest_code(outbox, PHONE) == "222222"
    assert latest_code(outbox, OTHER_PHONE) == "333333"
    assert latest_code(outbox, "13700137000") is None


def test_latest_code_accepts_str_paths(outbox: Path) -> None:
    OutboxSmsGateway(str(outbox)).send(PHONE, "验证码 048213")
    assert latest_code(str(outbox), PHONE) == "048213"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("验证码482913，5分钟内有效", "482913"),
        ("482913", "482913"),
        ("凭证号TD20261124K7M2Q5", None),  # 8 digits are not a code
        ("1234567", None),
        ("12345", None),
        ("111111 和 222222", None),  # two candidates: not "the only" run
        ("no digits", None),
    ],
)
def test_find_code_takes_only_a_single_six_digit_run(text: str, code: str | None) -> None:
    assert find_code(text) == code


# --- HTTP gateway -----------------------------------------------------------------------


class _Provider:
    """A local SMS provider: records requests, answers with `status` after `delay`."""

    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []
        self.release = threading.Event()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Provider, str]]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    state = _Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": json.loads(self.rfile.read(length).decode("utf-8")),
                }
            )
            if state.delay:
                state.release.wait(state.delay)
            payload = b'{"echo": "verification text 482913"}'
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1/sms"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_gateway_posts_json_with_bearer_token(provider: tuple[_Provider, str]) -> None:
    state, url = provider
    HttpSmsGateway(url, "secret-token", timeout=2).send(PHONE, "【退订助手】验证码482913")

    assert len(state.requests) == 1
    request = state.requests[0]
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["body"] == {"to": PHONE, "text": "【退订助手】验证码482913"}


@pytest.mark.parametrize("status", [500, 401, 302])
def test_http_gateway_non_2xx_is_an_sms_error_without_the_text(
    provider: tuple[_Provider, str], status: int
) -> None:
    state, url = provider
    state.status = status
    with pytest.raises(SmsError) as caught:
        HttpSmsGateway(url, "secret-token", timeout=2).send(PHONE, "验证码482913")
    message = str(caught.value)
    assert f"HTTP {status}" in message
    assert "482913" not in message  # neither the text nor the provider's echo of it
    assert "secret-token" not in message
    assert len(state.requests) == 1  # a redirect is not followed


def test_http_gateway_accepts_any_2xx(provider: tuple[_Provider, str]) -> None:
    state, url = provider
    state.status = 202
    HttpSmsGateway(url, "t", timeout=2).send(PHONE, "hi")
    assert len(state.requests) == 1


def test_http_gateway_times_out_quickly(provider: tuple[_Provider, str]) -> None:
    state, url = provider
    state.delay = 5.0
    started = time.monotonic()
    with pytest.raises(SmsError, match="no answer within 0.2 s") as caught:
        HttpSmsGateway(url, "t", timeout=0.2).send(PHONE, "验证码482913")
    assert time.monotonic() - started < 2.0
    assert "482913" not in str(caught.value)


def test_http_gateway_connection_refused_is_an_sms_error() -> None:
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SmsError, match="could not connect"):
        HttpSmsGateway(f"http://127.0.0.1:{port}/sms", "t", timeout=1).send(PHONE, "hi")


def test_http_gateway_validates_before_sending(provider: tuple[_Provider, str]) -> None:
    state, url = provider
    with pytest.raises(SmsError, match="11 ASCII digits"):
        HttpSmsGateway(url, "t").send("12345", "hi")
    assert state.requests == []


@pytest.mark.parametrize(
    ("url", "token", "timeout"),
    [
        ("file:///etc/passwd", "t", 1.0),
        ("ftp://sms.example.com/", "t", 1.0),
        ("not a url", "t", 1.0),
        ("https://sms.example.com/send", "", 1.0),
        ("https://sms.example.com/send", "t", 0),
    ],
)
def test_http_gateway_rejects_bad_configuration(url: str, token: str, timeout: float) -> None:
    with pytest.raises(ValueError):
        HttpSmsGateway(url, token, timeout)


# --- factory ----------------------------------------------------------------------------


def test_factory_defaults_to_the_outbox(tmp_path: Path) -> None:
    settings = Settings(sms_outbox=tmp_path / "outbox.jsonl")
    for env in ({}, {"SMS_GATEWAY": ""}, {"SMS_GATEWAY": "outbox"}):
        gateway = build_sms_gateway(settings, env=env)
        assert isinstance(gateway, OutboxSmsGateway)
        assert gateway.path == tmp_path / "outbox.jsonl"


def test_factory_builds_the_http_gateway() -> None:
    env = {
        "SMS_GATEWAY": "http",
        "SMS_HTTP_URL": "https://sms.example.com/send",
        "SMS_HTTP_TOKEN": "tok",
        "SMS_HTTP_TIMEOUT_SECONDS": "2.5",
    }
    gateway = build_sms_gateway(Settings(), env=env)
    assert isinstance(gateway, HttpSmsGateway)
    assert gateway.url == "https://sms.example.com/send"
    assert gateway.timeout == 2.5


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SMS_GATEWAY": "http", "SMS_HTTP_TOKEN": "tok"}, "SMS_HTTP_URL"),
        ({"SMS_GATEWAY": "http", "SMS_HTTP_URL": "https://x.example/"}, "SMS_HTTP_TOKEN"),
        ({"SMS_GATEWAY": "http", "SMS_HTTP_URL": " ", "SMS_HTTP_TOKEN": "tok"}, "SMS_HTTP_URL"),
    ],
)
def test_factory_names_the_missing_variable(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        build_sms_gateway(Settings(), env=env)


def test_factory_rejects_unknown_gateways() -> None:
    with pytest.raises(ValueError, match="'outbox' or 'http'"):
        build_sms_gateway(Settings(), env={"SMS_GATEWAY": "carrier-pigeon"})


# --- templates --------------------------------------------------------------------------

LONGEST_PRODUCTS = ["咪咕视频钻石会员", "网易云音乐黑胶VIP", "百度网盘超级会员"]


def test_verification_code_text() -> None:
    text = templates.verification_code("482913", 5)
    assert text == "【退订助手】验证码482913，5分钟内有效，仅用于取消会员自动续费。请勿告诉他人。"
    assert SIX_DIGIT_RUN.findall(text) == ["482913"]
    assert len(text) <= templates.SINGLE_SMS_LENGTH


def test_verification_code_keeps_leading_zeros() -> None:
    assert find_code(templates.verification_code("004213", 10)) == "004213"
    assert "10分钟" in templates.verification_code("004213", 10)


@pytest.mark.parametrize("code", ["48291", "4829130", "48291a", "４８２９１３"])
def test_verification_code_rejects_non_codes(code: str) -> None:
    with pytest.raises(ValueError):
        templates.verification_code(code, 5)


@pytest.mark.parametrize("product", LONGEST_PRODUCTS)
def test_cancellation_receipt_text(product: str) -> None:
    today = date(2026, 11, 24)
    text = templates.cancellation_receipt(product, REFERENCE, date(2026, 12, 5), today=today)
    assert text.startswith("【退订助手】")
    assert product in text
    assert REFERENCE in text
    assert "权益保留至12月5日" in text
    assert "不再扣费" in text
    assert SIX_DIGIT_RUN.search(text) is None  # never mistaken for a code
    assert len(text) <= templates.SINGLE_SMS_LENGTH


def test_cancellation_receipt_shows_the_year_when_it_differs() -> None:
    text = templates.cancellation_receipt(
        "爱奇艺黄金VIP", REFERENCE, date(2027, 1, 5), today=date(2026, 12, 30)
    )
    assert "权益保留至2027年1月5日" in text
    assert len(text) <= templates.SINGLE_SMS_LENGTH


def test_cancellation_receipt_defaults_today_to_shanghai() -> None:
    far = date(2099, 3, 1)
    assert "2099年3月1日" in templates.cancellation_receipt("优酷VIP", REFERENCE, far)


@pytest.mark.parametrize(
    ("day", "today", "expected"),
    [
        (date(2026, 12, 5), date(2026, 11, 24), "12月5日"),
        (date(2026, 1, 1), date(2026, 12, 31), "1月1日"),
        (date(2027, 1, 1), date(2026, 12, 31), "2027年1月1日"),
        (date(2025, 12, 31), date(2026, 1, 1), "2025年12月31日"),
    ],
)
def test_format_date(day: date, today: date, expected: str) -> None:
    assert templates.format_date(day, today) == expected


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("25"), "25.00元"),
        (Decimal("58.5"), "58.50元"),
        (248, "248.00元"),
        ("15", "15.00元"),
    ],
)
def test_refund_case_opened_text(amount: object, shown: str) -> None:
    text = templates.refund_case_opened("RF20261124K7M2Q5", "网易云音乐黑胶VIP", amount)
    assert text.startswith("【退订助手】")
    assert "RF20261124K7M2Q5" in text
    assert "网易云音乐黑胶VIP" in text
    assert shown in text
    assert len(text) <= templates.SINGLE_SMS_LENGTH


@pytest.mark.parametrize("amount", [Decimal("-1"), Decimal("NaN"), "abc"])
def test_refund_case_opened_rejects_bad_amounts(amount: object) -> None:
    with pytest.raises(ValueError):
        templates.refund_case_opened("RF1", "优酷VIP", amount)


def test_handoff_opened_text() -> None:
    text = templates.handoff_opened("HD20261124K7M2Q5")
    assert text.startswith("【退订助手】")
    assert "HD20261124K7M2Q5" in text
    assert "人工" in text
    assert len(text) <= templates.SINGLE_SMS_LENGTH


@pytest.mark.parametrize(
    "make",
    [
        lambda: templates.cancellation_receipt("", REFERENCE, date(2026, 12, 5)),
        lambda: templates.cancellation_receipt("优酷VIP", " ", date(2026, 12, 5)),
        lambda: templates.refund_case_opened("", "优酷VIP", 1),
        lambda: templates.handoff_opened(""),
    ],
)
def test_templates_reject_empty_fields(make: Callable[[], str]) -> None:
    with pytest.raises(ValueError, match="empty"):
        make()


def test_a_sent_code_template_is_found_again(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    OutboxSmsGateway(outbox).send(PHONE, templates.verification_code("765432", 5))
    assert latest_code(outbox, PHONE) == "765432"
