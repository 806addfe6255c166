"""The SMS webhook without a server: gateway authentication, retries, identity, busy answers,
and menus remembered in the channel's own memory."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels import templates
from channels.conversation_memory import LocalMemory, MemoryUnavailable, RedisMemory, Remembered
from channels.guard import RateLimiter
from channels.lru import Lru
from channels.sms import SmsInput, sender_id
from channels.sms.auth import DEV_SECRET, GatewayAuth, sign
from channels.sms.memory import RetryCache
from core.identity.assertion import CLIENT_KEY, METADATA_KEY, InvalidAssertion, verify
from tests.unit.sms_replies import ANOTHER, CONFIRM, LIST, described

NOW = 1_800_000_000.0
SECRET = "s3cret-for-tests"
ASSERTION_KEY = "assertion-key-for-tests"


class FakeBot:
    """Stands in for Rasa: records each message and answers from a script, each reply with
    the `next` description the dialogue gives it."""

    def __init__(self, script: Optional[Callable[[str], List[Dict[str, Any]]]] = None) -> None:
        self.messages: List[Any] = []
        self.script = script or (lambda text: [{"text": f"收到：{text}"}])
        self.delay = 0.0
        self.fail = False

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("action server down")
        for reply in self.script(message.text):
            await message.output_channel.send_response(message.sender_id, described(reply))


class BrokenMemory(LocalMemory):
    """A Redis memory whose server is down."""

    def recall(self, conversation_id: str) -> Remembered:
        raise MemoryUnavailable("down")

    def remember(self, conversation_id: str, remembered: Remembered) -> None:
        raise MemoryUnavailable("down")

    def forget(self, conversation_id: str) -> None:
        raise MemoryUnavailable("down")


def channel(**kwargs: Any) -> SmsInput:
    auth = GatewayAuth(secret=SECRET, clock=lambda: NOW)
    return SmsInput(auth=auth, **kwargs)


def signed(payload: Dict[str, Any], secret: str = SECRET, at: float = NOW) -> tuple:
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    stamp = str(int(at))
    headers = {
        "Content-Type": "application/json",
        "X-SMS-Timestamp": stamp,
        "X-SMS-Signature": sign(secret, stamp, raw),
    }
    return headers, raw


def sms(text: str, message_id: Optional[str] = None, phone: str = "13800138000") -> Dict:
    payload = {"from": phone, "to": "10086", "text": text}
    if message_id is not None:
        payload["message_id"] = message_id
    return payload


def call(ch: SmsInput, bot: FakeBot, headers: Dict[str, str], raw: bytes) -> tuple:
    return asyncio.run(ch.handle(headers, raw, bot))


def test_a_signed_sms_reaches_the_assistant_as_the_sender() -> None:
    """sms:<hash of phone> conversation, channel `sms`, a signed sender; the reply back."""
    ch, bot = channel(assertion_key=ASSERTION_KEY), FakeBot()
    status, body, _ = call(ch, bot, *signed(sms("0000", "m-1")))
    assert status == 200
    message = bot.messages[0]
    assert message.text == "/cancel_subscription"
    assert message.sender_id == sender_id("13800138000", SECRET)
    assert message.sender_id.startswith("sms:") and "13800138000" not in message.sender_id
    assert sender_id("13800138000", SECRET) != sender_id("13900139000", SECRET)
    assert sender_id("13800138000", SECRET) != sender_id("13800138000", "another key")
    assert message.input_channel == "sms"
    assert "identity" not in message.metadata
    proof = verify(ASSERTION_KEY, message.metadata[METADATA_KEY], conversation_id=message.sender_id)
    assert (proof.phone, proof.source, proof.proves_phone) == ("13800138000", "sms_sender", True)
    with pytest.raises(InvalidAssertion):  # signed with CHANNEL_ASSERTION_KEY, nothing else
        verify(SECRET, message.metadata[METADATA_KEY], conversation_id=message.sender_id)
    with pytest.raises(InvalidAssertion):  # good for this number's conversation only
        verify(
            ASSERTION_KEY,
            message.metadata[METADATA_KEY],
            conversation_id=sender_id("13900139000", SECRET),
        )
    assert len(message.metadata[CLIENT_KEY]) == 24
    assert "13800138000" not in json.dumps(message.metadata[CLIENT_KEY])
    assert body == {
        "to": "13800138000",
        "text": "收到：/cancel_subscription",
        "segments": 1,
        "messages": [{"text": "收到：/cancel_subscription", "segments": 1}],
        "message_id": "m-1",
    }


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, r: ({k: v for k, v in h.items() if k != "X-SMS-Signature"}, r),
        lambda h, r: ({k: v for k, v in h.items() if k != "X-SMS-Timestamp"}, r),
        lambda h, r: (h, r.replace(b"13800138000", b"13900139000")),
        lambda h, r: ({**h, "X-SMS-Signature": "sha256=" + "0" * 64}, r),
        lambda h, r: ({**h, "X-SMS-Timestamp": "abc"}, r),
        lambda h, r: ({**h, "X-SMS-Signature": "签名"}, r),
    ],
    ids=["no-signature", "no-timestamp", "body-changed", "wrong-signature", "bad-time", "unicode"],
)
def test_unsigned_or_tampered_requests_are_refused(tamper: Callable) -> None:
    """401 JSON, and the assistant never hears of it."""
    ch, bot = channel(), FakeBot()
    status, body, _ = call(ch, bot, *tamper(*signed(sms("0000"))))
    assert (status, body["error"]) == (401, "unauthorized")
    assert body["message"] == templates.SMS_ERROR_MESSAGES["unauthorized"]
    assert bot.messages == []


def test_an_old_signature_cannot_be_replayed() -> None:
    """A correctly signed request from 10 minutes ago is refused."""
    ch, bot = channel(), FakeBot()
    status, _, _ = call(ch, bot, *signed(sms("0000"), at=NOW - 600))
    assert status == 401 and bot.messages == []


def test_token_mode() -> None:
    """Gateways that cannot sign send the shared token; a wrong one is refused."""
    ch, bot = SmsInput(auth=GatewayAuth(secret=SECRET, mode="token")), FakeBot()
    raw = json.dumps(sms("你好")).encode()
    assert call(ch, bot, {"X-SMS-Token": SECRET}, raw)[0] == 200
    assert call(ch, bot, {"Authorization": f"Bearer {SECRET}"}, raw)[0] == 200
    assert call(ch, bot, {"X-SMS-Token": "guess"}, raw)[0] == 401
    assert call(ch, bot, {}, raw)[0] == 401
    assert len(bot.messages) == 2


def test_the_secret_comes_from_credentials_or_environment(caplog: Any) -> None:
    """secret, then $SMS_WEBHOOK_SECRET (or secret_env), else the dev secret with a warning."""
    assert GatewayAuth.from_credentials({"secret": "a"}, env={}).secret == "a"
    assert GatewayAuth.from_credentials({}, env={"SMS_WEBHOOK_SECRET": "b"}).secret == "b"
    assert GatewayAuth.from_credentials({"secret_env": "X"}, env={"X": "c"}).secret == "c"
    assert GatewayAuth.from_credentials({}, env={}).secret == DEV_SECRET
    assert "PUBLIC development secret" in caplog.text
    with pytest.raises(ValueError):
        GatewayAuth.from_credentials({"auth": "none"}, env={})


def test_a_gateway_retry_gets_the_same_reply_without_a_second_turn() -> None:
    """Same message_id twice: one turn, the same answer."""
    ch, bot = channel(), FakeBot()
    first = call(ch, bot, *signed(sms("你好", "dup-1")))
    second = call(ch, bot, *signed(sms("你好", "dup-1")))
    assert first == second and len(bot.messages) == 1
    call(ch, bot, *signed(sms("你好", "dup-2")))
    call(ch, bot, *signed(sms("你好")))  # no message_id: no deduplication
    assert len(bot.messages) == 3


def test_concurrent_retries_wait_for_the_first() -> None:
    """A retry arriving while the first is still being handled shares its answer."""
    ch, bot = channel(), FakeBot()
    bot.delay = 0.05
    headers, raw = signed(sms("你好", "dup-9"))

    async def both() -> list:
        return await asyncio.gather(ch.handle(headers, raw, bot), ch.handle(headers, raw, bot))

    first, second = asyncio.run(both())
    assert first == second and first[0] == 200 and len(bot.messages) == 1


def test_no_reply_or_a_failure_gets_a_busy_sms_and_may_be_retried() -> None:
    """Action server down or silent: "系统繁忙", not cached, so the retry is processed."""
    ch, bot = channel(), FakeBot(script=lambda text: [])
    status, body, _ = call(ch, bot, *signed(sms("你好", "b-1")))
    assert status == 200 and body["text"] == templates.UNAVAILABLE and body["busy"]
    bot.fail = True
    status, body, _ = call(ch, bot, *signed(sms("你好", "b-1")))
    assert status == 200 and body["text"] == templates.UNAVAILABLE
    assert len(bot.messages) == 2


def test_a_slow_turn_answers_busy_in_time() -> None:
    """Longer than reply_timeout: the gateway gets "系统繁忙" at once."""
    ch, bot = channel(reply_timeout=0.01), FakeBot()
    bot.delay = 0.2
    status, body, _ = call(ch, bot, *signed(sms("你好")))
    assert status == 200 and body["busy"]


def test_list_pick_and_confirmation_reach_the_dialogue_as_typed() -> None:
    """0000 → list; "2", "确认1", "1" and "确认2" go as typed: the dialogue decides consent."""

    def script(text: str) -> List[Dict[str, Any]]:
        return {"/cancel_subscription": [LIST], "2": [CONFIRM]}.get(text, [CONFIRM])

    ch, bot = channel(), FakeBot(script)
    call(ch, bot, *signed(sms("0000")))
    _, body, _ = call(ch, bot, *signed(sms("2")))
    assert body["text"] == CONFIRM["text"]
    for text in ("确认1", "1", "确认2"):
        call(ch, bot, *signed(sms(text)))
    assert [m.text for m in bot.messages] == ["/cancel_subscription", "2", "确认1", "1", "确认2"]
    assert all(m.output_channel.name() == "sms" for m in bot.messages)  # SMS variants apply


def test_a_number_picks_from_the_menu_the_last_sms_showed() -> None:
    """回复1 还要取消，回复2 不用了 → "2" sends that option's payload; later, as typed."""
    ch, bot = channel(), FakeBot(lambda text: [ANOTHER] if text == "你好" else [{"text": "好"}])
    _, body, _ = call(ch, bot, *signed(sms("你好")))
    assert body["text"].endswith("回复1 还要取消，回复2 不用了。")
    call(ch, bot, *signed(sms("2")))
    call(ch, bot, *signed(sms("2")))  # the reply to "2" showed no menu
    assert [m.text for m in bot.messages] == ["你好", "/deny", "2"]


def test_the_channels_own_replies_keep_the_menu() -> None:
    """An empty SMS or 取消+another number in between: the menu still stands."""
    ch, bot = channel(), FakeBot(lambda text: [ANOTHER])
    call(ch, bot, *signed(sms("你好")))
    call(ch, bot, *signed(sms("取消+13900139000")))
    call(ch, bot, *signed(sms("1")))
    assert bot.messages[-1].text == "/affirm"


def test_a_busy_reply_forgets_the_menu() -> None:
    """After "系统繁忙" (which showed no menu) a number goes as typed."""
    replies = iter([[ANOTHER], []])
    ch, bot = channel(), FakeBot(lambda text: next(replies, [{"text": "好"}]))
    call(ch, bot, *signed(sms("你好")))
    assert call(ch, bot, *signed(sms("你好")))[1]["busy"]
    call(ch, bot, *signed(sms("1")))
    assert bot.messages[-1].text == "1"


def test_the_menu_is_shared_through_the_memory_not_the_process() -> None:
    """Two webhook processes sharing one memory (Redis in production) read the same menu."""
    shared = LocalMemory()
    first, second = channel(memory=shared), channel(memory=shared)
    bot = FakeBot(lambda text: [ANOTHER])
    call(first, bot, *signed(sms("你好")))
    call(second, bot, *signed(sms("1")))
    assert bot.messages[-1].text == "/affirm"


def test_the_menu_expires_with_the_memory() -> None:
    """After the memory's TTL (Rasa's session expiry by default) a number goes as typed."""
    now = [0.0]
    ch = channel(memory=LocalMemory(ttl=3600, clock=lambda: now[0]))
    bot = FakeBot(lambda text: [ANOTHER])
    call(ch, bot, *signed(sms("你好")))
    now[0] = 3601.0
    call(ch, bot, *signed(sms("1")))
    assert bot.messages[-1].text == "1"


def test_each_phone_has_its_own_menu() -> None:
    """A number from another phone is not read against this phone's menu."""
    ch, bot = channel(), FakeBot(lambda text: [ANOTHER])
    call(ch, bot, *signed(sms("你好")))
    call(ch, bot, *signed(sms("2", phone="13900139000")))
    assert bot.messages[-1].text == "2"
    assert bot.messages[-1].sender_id == sender_id("13900139000", SECRET)


def test_empty_long_and_other_number_messages_are_answered_by_the_channel() -> None:
    """No bot turn for an empty SMS, a too-long one, or 取消+another number."""
    ch, bot = channel(), FakeBot()
    assert call(ch, bot, *signed(sms("  ")))[1]["text"] == templates.SMS_EMPTY
    assert "太长" in call(ch, bot, *signed(sms("退" * 600)))[1]["text"]
    body = call(ch, bot, *signed(sms("取消+13900139000")))[1]
    assert "139****9000" in body["text"] and "13900139000" not in body["text"]
    assert bot.messages == []


def test_too_many_messages_from_one_phone_are_limited() -> None:
    """Over the rate limit: 429 JSON with Retry-After and a Chinese reply."""
    ch, bot = channel(limiter=RateLimiter(limit=2, window=60)), FakeBot()
    statuses = [call(ch, bot, *signed(sms(f"你好{i}"))) for i in range(3)]
    status, body, headers = statuses[-1]
    assert status == 429 and body["error"] == "rate_limited" and headers["Retry-After"]
    assert "太快" in body["reply"] and len(bot.messages) == 2


def test_memory_is_bounded() -> None:
    """The LRUs forget the oldest entries."""
    lru: Lru[int] = Lru(2)
    for i in range(5):
        lru.put(i, i)
    assert len(lru) == 2 and lru.get(0) is None and lru.get(4) == 4
    cache = RetryCache(size=3)

    async def fill() -> None:
        for i in range(10):
            await cache.once(i, lambda i=i: _answer(i))

    asyncio.run(fill())
    assert len(cache._done) == 3


async def _answer(i: int) -> tuple:
    return 200, {"i": i}


BODIES = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(
        st.sampled_from(["from", "to", "text", "message_id", "x"]),
        st.none() | st.integers() | st.text(max_size=20) | st.just("13800138000"),
    ).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=200, deadline=None)
@given(BODIES, st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]))
def test_any_signed_body_gets_2xx_or_4xx_json(raw: bytes, content_type: str) -> None:
    """Whatever the gateway posts (signed), the answer is 200 or a 4xx JSON error."""
    ch, bot = channel(), FakeBot()
    stamp = str(int(NOW))
    headers = {
        "Content-Type": content_type,
        "X-SMS-Timestamp": stamp,
        "X-SMS-Signature": sign(SECRET, stamp, raw),
    }
    status, body, _ = call(ch, bot, headers, raw)
    assert status == 200 or 400 <= status < 500
    json.dumps(body)
    if status != 200:
        assert body["error"] and body["message"]
    else:
        assert body["to"] and body["text"] and body["segments"] >= 1


def test_without_the_memory_a_number_goes_as_typed() -> None:
    """The memory (Redis) down: the SMS is still answered; a number reaches the bot as typed."""
    ch, bot = channel(memory=BrokenMemory()), FakeBot(lambda text: [ANOTHER])
    assert call(ch, bot, *signed(sms("你好")))[0] == 200
    status, body, _ = call(ch, bot, *signed(sms("1")))
    assert status == 200 and body["text"].startswith("还需要取消")
    assert bot.messages[-1].text == "1"


def test_the_memory_comes_from_credentials() -> None:
    """In this process by default, with the menu's TTL; Redis with memory_url."""
    ch = SmsInput.from_credentials({"offer_ttl": 120, "secret": SECRET})
    assert isinstance(ch.memory, LocalMemory) and ch.memory.ttl == 120
    redis = SmsInput.from_credentials({"memory_url": "redis://localhost:1/0", "secret": SECRET})
    assert isinstance(redis.memory, RedisMemory) and redis.memory.prefix == "sms_memory"
