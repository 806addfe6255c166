"""Whole cancellation conversations over REST, checked against the store and the SMS outbox."""

from __future__ import annotations

import pytest

from core.store.references import is_valid_reference
from tests.e2e.bot import Bot, find_reference

pytestmark = pytest.mark.e2e

ZHANG = "13800138000"
LI = "13900139000"
ZHAO = "13600136000"


def joined(texts):
    return "\n".join(texts)


def status_of(bot: Bot, phone: str, product: str) -> str:
    """The store's status of a holder's membership."""
    return next(s.status for s in bot.store.subscriptions(phone) if s.product_name == product)


def verify(bot: Bot, sender: str, phone: str) -> list:
    """Gives the phone number and the code from the outbox; returns the replies to the code."""
    texts = bot.say(sender, phone)
    assert "138****8000" in joined(texts) or phone[:3] + "****" + phone[-4:] in joined(texts)
    code = bot.code_for(phone)
    replies = bot.say(sender, f"验证码{code}")
    assert code not in joined(replies), "the code must never be echoed"
    return replies


def test_happy_path_named_membership(fresh: Bot, sender: str) -> None:
    """Named membership → identity → status and consequences → confirm → reference, SMS, reason."""
    texts = fresh.say(sender, "帮我把腾讯视频的自动续费关了")
    assert "手机号" in joined(texts) and "腾讯视频VIP" in joined(texts)
    replies = verify(fresh, sender, ZHANG)
    text = joined(replies)
    assert "验证成功" in text
    assert "¥25/月" in text and "话费代扣" in text and "下次扣费" in text
    assert "权益照常保留" in text and "不再自动扣费" in text and "重新开通" in text
    assert "确认要取消腾讯视频VIP" in text
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "active"

    done = fresh.say(sender, "确认取消")
    reference = find_reference(done)
    assert reference and is_valid_reference(reference)
    assert "138****8000" in joined(done)
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "cancelled"
    assert fresh.store.cancellation(reference).product_name == "腾讯视频VIP"
    receipts = [m for m in fresh.outbox() if m["to"] == ZHANG and reference in m["text"]]
    assert len(receipts) == 1
    assert "原因" in joined(done)

    after = fresh.say(sender, "价格太贵了")
    assert "感谢" in joined(after) and "其他会员" in joined(after)
    assert fresh.store.cancellation(reference).reason == "价格太贵了"
    end = fresh.say(sender, "不用了")
    assert "祝您" in joined(end)
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"


def test_pick_from_list_after_wrong_code(fresh: Bot, sender: str) -> None:
    """Unnamed membership: a wrong code counts down, then the numbered list, pick by number."""
    fresh.say(sender, "我想取消自动续费")
    fresh.say(sender, ZHANG)
    wrong = fresh.say(
        sender, "验证码000000" if fresh.code_for(ZHANG) != "000000" else "验证码111111"
    )
    assert "还可以再试4次" in joined(wrong)
    listed = fresh.say(sender, fresh.code_for(ZHANG))
    text = joined(listed)
    assert "1. " in text and "2. " in text and "QQ音乐绿钻" in text and "腾讯视频VIP" in text
    assert "咪咕" not in text, "cancelled memberships are not offered"
    order = [name for name in ("QQ音乐绿钻", "腾讯视频VIP") if name in text]
    first = min(order, key=text.index)
    confirm = fresh.say(sender, "1")
    assert f"确认要取消{first}" in joined(confirm)
    done = fresh.say(sender, "确认")
    assert find_reference(done)
    assert status_of(fresh, ZHANG, first) == "cancelled"


def test_saying_no_at_confirmation_changes_nothing(fresh: Bot, sender: str) -> None:
    """先不取消 at the confirmation: the user hears nothing changed, and nothing did."""
    fresh.say(sender, "我不想要QQ音乐绿钻了 帮我退订")
    verify(fresh, sender, ZHANG)
    replies = fresh.say(sender, "先不取消了")
    assert "没有取消" in joined(replies) and "保持不变" in joined(replies)
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"
    assert not find_reference(replies)


def test_already_cancelled_is_not_done_twice(fresh: Bot, sender: str) -> None:
    """咪咕 was cancelled 20 days ago: its date and reference, no new cancellation."""
    before = fresh.store.cancellations(ZHANG)
    fresh.say(sender, "取消咪咕视频钻石会员")
    replies = verify(fresh, sender, ZHANG)
    text = joined(replies)
    assert "已经在" in text and "取消过了" in text
    assert before[0].reference in text
    assert fresh.store.cancellations(ZHANG) == before


def test_apple_subscription_gets_exact_steps(fresh: Bot, sender: str) -> None:
    """An App Store membership cannot be cancelled by us: the iPhone steps instead."""
    fresh.say(sender, "百度网盘超级会员不想续了 帮我取消")
    replies = verify(fresh, sender, LI)
    text = joined(replies)
    assert "设置 → 点按你的名字 → 订阅" in text and "取消订阅" in text
    assert status_of(fresh, LI, "百度网盘超级会员") == "active"


def test_partner_failure_is_told_honestly_then_succeeds(fresh: Bot, sender: str) -> None:
    """支付宝 failing: the truth, nothing marked cancelled; later the same request works."""
    fresh.partner_mode("fail")
    fresh.say(sender, "帮我关掉爱奇艺的自动续费")
    verify(fresh, sender, LI)
    failed = fresh.say(sender, "确认取消")
    assert "尚未取消" in joined(failed) and "支付宝" in joined(failed)
    assert not find_reference(failed)
    assert status_of(fresh, LI, "爱奇艺黄金VIP") == "active"

    fresh.partner_mode("ok")
    fresh.say(sender, "再帮我取消一次爱奇艺")
    done = fresh.say(sender, "确认取消")
    assert find_reference(done)
    assert status_of(fresh, LI, "爱奇艺黄金VIP") == "cancelled"


def test_two_in_one_go_each_confirmed(fresh: Bot, sender: str) -> None:
    """把这两个都取消: each confirmed, each with its own reference."""
    fresh.say(sender, "把腾讯视频和QQ音乐绿钻都取消")
    first_ask = verify(fresh, sender, ZHANG)
    assert "确认要取消" in joined(first_ask)
    first = fresh.say(sender, "确认取消")
    ref1 = find_reference(first)
    assert ref1 and "确认要取消" in joined(first), "the second one is asked right after"
    second = fresh.say(sender, "确认取消")
    ref2 = find_reference(second)
    assert ref2 and ref2 != ref1
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "cancelled"
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "cancelled"


def test_digression_then_carry_on(fresh: Bot, sender: str) -> None:
    """A question about consequences and rights mid-way, then the flow resumes where it stopped."""
    fresh.say(sender, "取消绿钻")
    verify(fresh, sender, ZHANG)
    answer = fresh.say(sender, "取消了之后已经扣的钱会退吗")
    assert "不退" in joined(answer) or "退款" in joined(answer)
    assert "确认要取消QQ音乐绿钻" in joined(answer)
    legal = fresh.say(sender, "法律上我有权随时取消自动续费吗")
    assert "消费者权益保护法" in joined(legal)
    assert "确认要取消QQ音乐绿钻" in joined(legal)
    done = fresh.say(sender, "确认取消")
    assert find_reference(done)


def test_change_membership_mid_way(fresh: Bot, sender: str) -> None:
    """Changing the membership at the confirmation switches to the new one."""
    fresh.say(sender, "帮我取消腾讯视频会员")
    verify(fresh, sender, ZHANG)
    switched = fresh.say(sender, "不对 我要取消的是QQ音乐绿钻")
    assert "确认要取消QQ音乐绿钻" in joined(switched)
    fresh.say(sender, "确认取消")
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "cancelled"
    assert status_of(fresh, ZHANG, "腾讯视频VIP") == "active"


def test_membership_not_held_lists_what_is(fresh: Bot, sender: str) -> None:
    """A membership the holder does not have: said so, and the real ones listed."""
    fresh.say(sender, "退订优酷会员")
    replies = verify(fresh, sender, ZHANG)
    text = joined(replies)
    assert "没有开通优酷VIP" in text
    assert "腾讯视频VIP" in text and "QQ音乐绿钻" in text


def test_arrears_account_can_cancel(fresh: Bot, sender: str) -> None:
    """欠费停机 does not stop a cancellation."""
    fresh.say(sender, "网易云音乐的会员帮我退了")
    verify(fresh, sender, ZHAO)
    done = fresh.say(sender, "确认取消")
    assert find_reference(done)
    assert status_of(fresh, ZHAO, "网易云音乐黑胶VIP") == "cancelled"


def test_giving_up_mid_way(fresh: Bot, sender: str) -> None:
    """算了不办了 while asked for the phone: stop, nothing changed."""
    fresh.say(sender, "我要取消腾讯视频")
    replies = fresh.say(sender, "算了不办了")
    assert "没有任何变化" in joined(replies)
