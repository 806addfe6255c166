"""Cancelling by SMS through the gateway webhook, with the real model, actions and store."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.sms import sender_id
from channels.sms.auth import DEV_SECRET, sign
from channels.sms.render import count_segments
from core.store.references import is_valid_reference
from tests.e2e.bot import Bot, find_reference

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
LI = "13900139000"
WANG = "13700137000"
SERVICE_NUMBER = "10086"
# Every question for the phone number says this (the privacy notice mentions 手机号码 too).
ASKS_PHONE = "告诉我开通会员的手机号码"
PHONES = ("13800138000", "13900139000", "13700137000", "13600136000")


@pytest.fixture(autouse=True)
def new_sms_conversations(bot: Bot) -> None:
    """SMS conversations are per phone, so each test restarts the demo phones' conversations."""
    for phone in PHONES:
        request = urllib.request.Request(
            bot.api_url(f"/conversations/{sender_id(phone, DEV_SECRET)}/tracker/events"),
            data=json.dumps({"event": "restart"}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


def post_sms(
    bot: Bot,
    raw: bytes,
    content_type: str = "application/json",
    secret: Optional[str] = DEV_SECRET,
    headers: Optional[Dict[str, str]] = None,
) -> Tuple[int, Any]:
    """POSTs raw bytes to the SMS webhook, signed like the gateway; (status, parsed JSON)."""
    sent = {"Content-Type": content_type}
    if secret is not None:
        stamp = str(int(time.time()))
        sent.update({"X-SMS-Timestamp": stamp, "X-SMS-Signature": sign(secret, stamp, raw)})
    sent.update(headers or {})
    request = urllib.request.Request(f"{bot.url}/webhooks/sms/webhook", data=raw, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


def text_sms(bot: Bot, phone: str, text: str, message_id: Optional[str] = None) -> Dict[str, Any]:
    """Sends one SMS from `phone`; returns the webhook's 200 answer (the reply SMS)."""
    payload = {"from": phone, "to": SERVICE_NUMBER, "text": text}
    payload["message_id"] = message_id or uuid.uuid4().hex
    status, body = post_sms(bot, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    assert status == 200, body
    assert body["to"] == phone
    assert body["segments"] == sum(m["segments"] for m in body["messages"]) >= 1
    for message in body["messages"]:
        assert message["segments"] == count_segments(message["text"])
    return body


def store_state(bot: Bot) -> list:
    """Everything a refused or bad request must not change."""
    return [(s.id, s.status) for p in PHONES for s in bot.store.subscriptions(p)]


def status_of(bot: Bot, phone: str, product: str) -> str:
    """The store's status of a holder's membership."""
    return next(s.status for s in bot.store.subscriptions(phone) if s.product_name == product)


def listed_names(text: str) -> List[str]:
    """The membership names of a numbered list, in order."""
    names = ("QQ音乐绿钻", "腾讯视频VIP")
    return sorted((n for n in names if n in text), key=text.index)


def cancel_second_by_sms(bot: Bot) -> Tuple[str, str, List[Dict[str, Any]]]:
    """0000 → list → "2" → status and consequences → 确认2: (membership, reference, replies)."""
    listed = text_sms(bot, ZHANG, "0000")
    text = listed["text"]
    assert "1. " in text and "2. " in text, text
    assert ASKS_PHONE not in text, "the sender's number is the account: no number asked"
    assert "咪咕" not in text, "cancelled memberships are not offered"
    second = listed_names(text)[1]

    asked = text_sms(bot, ZHANG, "2")
    question = asked["text"]
    assert f"确认要取消{second}" in question
    assert "下次扣费" in question and "¥" in question
    assert "权益照常保留" in question and "不再自动扣费" in question and "重新开通" in question
    assert len(asked["messages"]) == 1, "one turn is one SMS"
    assert status_of(bot, ZHANG, second) == "active"

    done = text_sms(bot, ZHANG, "确认2")
    reference = find_reference([done["text"]])
    assert reference and is_valid_reference(reference), done
    return second, reference, [listed, asked, done]


def test_a_whole_cancellation_by_sms(fresh: Bot) -> None:
    """The operator-style flow: list by 0000, pick by number, code word, reference + receipt."""
    second, reference, replies = cancel_second_by_sms(fresh)
    assert "138****8000" in replies[-1]["text"] and ZHANG not in replies[-1]["text"]
    assert status_of(fresh, ZHANG, second) == "cancelled"
    row = fresh.store.cancellation(reference)
    assert (row.product_name, row.channel) == (second, "sms")
    receipts = [m for m in fresh.outbox() if m["to"] == ZHANG and reference in m["text"]]
    assert len(receipts) == 1
    assert not [m for m in fresh.outbox() if "验证码" in m["text"]], "no code is needed by SMS"
    first = next(n for n in ("QQ音乐绿钻", "腾讯视频VIP") if n != second)
    assert status_of(fresh, ZHANG, first) == "active"


def test_a_cancellation_by_sms_is_seen_on_rest_and_sms(fresh: Bot, sender: str) -> None:
    """Started by SMS, looked up over REST (verified by code) and by SMS: same reference."""
    second, reference, _ = cancel_second_by_sms(fresh)

    fresh.say(sender, "查一下我之前的退订记录")
    fresh.say(sender, ZHANG)
    listed = fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}")
    text = "\n".join(listed)
    assert reference in text and second in text

    # An unverified conversation hears that the cancellation is done, not what it was.
    by_reference = "\n".join(fresh.say(f"{sender}-ref", f"查一下单号{reference}"))
    assert reference in by_reference and "取消" in by_reference

    again = text_sms(fresh, ZHANG, "0000")["text"]
    assert second not in again, "a cancelled membership is not offered again"
    assert fresh.store.cancellation(reference).reason is None, "0000 is not a reason"
    records = text_sms(fresh, ZHANG, "查一下我的退订记录")["text"]
    assert reference in records


def test_another_number_cannot_be_cancelled_from_this_phone(fresh: Bot) -> None:
    """取消+<another number>: asked to send from that phone; nothing changes, no code sent."""
    before = store_state(fresh)
    reply = text_sms(fresh, ZHANG, "取消+13900139000")
    assert "139****9000" in reply["text"] and LI not in reply["text"]
    assert store_state(fresh) == before
    assert fresh.outbox() == []


def test_a_gateway_retry_is_answered_once(fresh: Bot) -> None:
    """The same message_id twice gets the same reply; the bot handled it only once."""
    text_sms(fresh, ZHANG, "0000")
    first = text_sms(fresh, ZHANG, "2", message_id="retry-1")
    second = text_sms(fresh, ZHANG, "2", message_id="retry-1")
    assert first == second
    # Handled twice, the second "2" would have met the confirmation and been refused.
    assert "为防止误操作" not in second["text"]


def test_a_stray_number_does_not_confirm(fresh: Bot) -> None:
    """At the confirmation, a bare "1" asks for the code word and cancels nothing."""
    text_sms(fresh, ZHANG, "0000")
    text_sms(fresh, ZHANG, "1")
    before = store_state(fresh)
    reply = text_sms(fresh, ZHANG, "1")
    assert "确认取消" in reply["text"] and not find_reference([reply["text"]])
    assert store_state(fresh) == before


def test_form_encoded_gateways_are_understood(fresh: Bot) -> None:
    """A gateway posting a form (From/To/Body) gets the same kind of answer."""
    raw = urlencode({"From": "+86" + LI, "To": SERVICE_NUMBER, "Body": "你好"}).encode()
    status, body = post_sms(fresh, raw, "application/x-www-form-urlencoded")
    assert status == 200 and body["to"] == LI and "退订助手" in body["text"]


@pytest.mark.parametrize(
    ("raw", "secret", "status", "code"),
    [
        (b'{"from": "13800138000", "to": "10086", "text": "0000"}', None, 401, "unauthorized"),
        (b'{"from": "13800138000", "to": "10086", "text": "0000"}', "guess", 401, "unauthorized"),
        (b"{not json", DEV_SECRET, 400, "invalid_json"),
        (b"\xff\xfe", DEV_SECRET, 400, "invalid_utf8"),
        (b'{"to": "10086", "text": "hi"}', DEV_SECRET, 400, "missing_from"),
        (b'{"from": "110", "to": "10086", "text": "hi"}', DEV_SECRET, 400, "invalid_from"),
        (b'{"from": "13800138000", "to": "10086", "text": 5}', DEV_SECRET, 400, "invalid_text"),
        (b'{"from": "13800138000", "to": "10086"}', DEV_SECRET, 400, "missing_text"),
        (b"a" * 20000, DEV_SECRET, 413, "body_too_large"),
    ],
)
def test_bad_requests_get_json_errors(
    fresh: Bot, raw: bytes, secret: Optional[str], status: int, code: str
) -> None:
    """Unsigned, wrongly signed or malformed: a 4xx JSON error in Chinese, nothing changed."""
    before = store_state(fresh)
    got_status, body = post_sms(fresh, raw, secret=secret)
    assert (got_status, body["error"]) == (status, code)
    assert body["message"]
    assert store_state(fresh) == before


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["from", "to", "text", "message_id"]),
        st.none() | st.integers() | st.text(max_size=12) | st.sampled_from([WANG, "10086"]),
    ),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/xml"]),
)
def test_any_signed_request_gets_2xx_or_4xx_json(
    bot: Bot, fields: Dict[str, Any], content_type: str
) -> None:
    """Random shapes through the real server: a reply SMS or a 4xx JSON error, never a 5xx."""
    if content_type.endswith("json"):
        raw = json.dumps(fields).encode("utf-8")
    else:
        raw = urlencode({k: "" if v is None else v for k, v in fields.items()}).encode()
    status, body = post_sms(bot, raw, content_type)
    assert status == 200 or 400 <= status < 500, (status, body)
    if status == 200:
        assert body["text"] and body["segments"] >= 1
    else:
        assert body["error"] and body["message"]


@pytest.mark.parametrize(
    "sender",
    [
        f"sms-{ZHANG}",
        sender_id(ZHANG, DEV_SECRET),  # the number's SMS conversation
        "sms-" + sender_id(ZHANG, DEV_SECRET).partition(":")[2],  # ... as it was spelled before
    ],
)
def test_rest_cannot_claim_an_sms_identity(fresh: Bot, sender: str) -> None:
    """A REST client sending the SMS identity metadata, naming the SMS conversation, is still
    asked: its sender stays inside `rest:`, and the metadata only a channel sets is dropped."""
    # The same REST senders are used by the cross-channel tests on this shared bot: start over.
    fresh.say(sender, "/restart")
    payload = {
        "sender": sender,
        "message": "我要取消自动续费",
        "metadata": {"identity": {"phone": ZHANG, "source": "sms_sender"}},
    }
    request = urllib.request.Request(
        f"{fresh.url}/webhooks/rest/webhook",
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        texts = [m.get("text", "") for m in json.loads(response.read().decode("utf-8"))]
    assert ASKS_PHONE in "\n".join(texts)
    assert "QQ音乐绿钻" not in "\n".join(texts)
