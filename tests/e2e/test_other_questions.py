"""Everything else a user asks, end to end over REST."""

from __future__ import annotations

import pytest

from tests.e2e.bot import Bot

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"


def joined(texts):
    return "\n".join(texts)


def test_greet_thank_goodbye(bot: Bot, sender: str) -> None:
    """Small talk answers politely."""
    assert "退订助手" in joined(bot.say(sender, "你好"))
    assert "不客气" in joined(bot.say(sender, "谢谢你"))
    assert "再见" in joined(bot.say(sender, "再见"))


def test_check_subscriptions_after_verification(fresh: Bot, sender: str) -> None:
    """Which memberships: verify first, then all of them with prices and dates."""
    ask = fresh.say(sender, "我开了哪些会员")
    assert "验证身份" in joined(ask)
    fresh.say(sender, ZHANG)
    listed = fresh.say(sender, fresh.code_for(ZHANG))
    text = joined(listed)
    assert "腾讯视频VIP" in text and "QQ音乐绿钻" in text and "咪咕视频钻石会员" in text
    assert "¥25/月" in text and "下次扣费" in text


def test_query_by_reference_masks_the_phone(fresh: Bot, sender: str) -> None:
    """A reference number alone gives its status and date only; the membership and the
    masked number follow once the holder proves the phone in this conversation."""
    reference = fresh.store.cancellations(ZHANG)[0].reference
    replies = fresh.say(sender, f"查一下单号{reference.lower()}")
    text = joined(replies)
    assert reference in text and "已取消" in text
    assert "咪咕" not in text and "8000" not in text
    fresh.say(sender, ZHANG)
    text = joined(fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}"))
    assert "咪咕视频钻石会员" in text and "138****8000" in text
    text = joined(fresh.say(sender, f"查一下单号{reference}"))
    assert "咪咕视频钻石会员" in text and "138****8000" in text
    assert ZHANG not in text


def test_query_with_wrong_check_character(bot: Bot, sender: str) -> None:
    """A mistyped reference is caught by its check character."""
    replies = bot.say(sender, "单号TD20261101B2N6WD办好了吗")
    assert "校验位" in joined(replies)


def test_unexpected_charge_offers_a_refund_request(fresh: Bot, sender: str) -> None:
    """A charge after the cancellation: listed, and a refund request offered, not filed
    (the yes and the case: tests/e2e/test_refund_consent.py)."""
    ask = fresh.say(sender, "都取消了怎么还扣我钱")
    assert "手机号" in joined(ask)
    fresh.say(sender, ZHANG)
    replies = fresh.say(sender, fresh.code_for(ZHANG))
    text = joined(replies)
    assert "咪咕视频钻石会员" in text and "提交退款申请吗" in text
    assert "RF" not in text and fresh.store.state_of([]).refund_cases == {}


def test_cancel_methods_and_law(bot: Bot, sender: str) -> None:
    """Ways to cancel and the legal basis, from the verified facts."""
    methods = joined(bot.say(sender, "有哪些取消方式"))
    assert "营业厅" in methods and "短信" in methods and "10086" in methods
    law = joined(bot.say(sender, "商家不让取消合法吗"))
    assert "第九条" in law and "《电信条例》第四十条" in law


def test_handoff_creates_ticket_with_masked_summary(fresh: Bot, sender: str) -> None:
    """转人工: a ticket whose summary never holds the full phone number."""
    fresh.say(sender, "我要取消腾讯视频")
    fresh.say(sender, ZHANG)
    replies = fresh.say(sender, "转人工")
    text = joined(replies)
    assert "工单号RG" in text
    reference = text[text.index("工单号") + 3 :][:16]
    ticket = fresh.store.handoff_ticket(reference)
    assert ticket is not None and ZHANG not in ticket.summary and "138****8000" in ticket.summary


def test_out_of_scope_and_not_understood(bot: Bot, sender: str) -> None:
    """Unrelated: said so; not understood twice in a row: a human is offered, and given."""
    assert "帮不上忙" in joined(bot.say(sender, "今天天气怎么样"))
    assert "换个说法" in joined(bot.say(sender, "/nlu_fallback"))
    offer = joined(bot.say(sender, "/nlu_fallback"))
    assert "人工" in offer
    assert "工单号RG" in joined(bot.say(sender, "/affirm"))


def test_cross_origin_requests_from_configured_origins(bot: Bot) -> None:
    """A widget on a configured origin may call the REST channel; others get no CORS grant."""
    import urllib.request

    from tests.e2e.bot import CORS

    allowed = CORS.split(",")[0]
    for origin, expected in ((allowed, allowed), ("https://evil.example.com", None)):
        request = urllib.request.Request(
            f"{bot.url}/webhooks/rest/webhook",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers.get("Access-Control-Allow-Origin") == expected
