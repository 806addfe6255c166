"""The few words and formats that fill the domain's response templates (labels, dates, money)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional
from zoneinfo import ZoneInfo

from core.phone import mask_phone
from core.statuses import SubscriptionStatus

BILLING_LABELS = {
    "phone_bill": "话费代扣",
    "alipay": "支付宝自动扣款",
    "wechat": "微信支付自动扣费",
    "app_store": "Apple App Store",
}
PARTNER_NAMES = {"alipay": "支付宝", "wechat": "微信"}
PARTNER_STEPS = {
    "alipay": "我的 → 设置 → 支付设置 → 免密支付/自动扣款 → 选择服务 → 关闭服务 → 确认关闭。",
    "wechat": "我 → 服务 → 钱包 → 支付设置 → 自动续费 → 选择项目 → 关闭扣费服务 → 确认关闭。",
}
PERIOD_UNITS = {"month": "月", "quarter": "季", "year": "年"}
CHARGE_WHY = {
    "after_cancellation": "发生在您取消之后",
    "refund_window": "在可申请退款的时间内",
}

__all__ = [
    "BILLING_LABELS",
    "CHARGE_WHY",
    "PARTNER_NAMES",
    "PARTNER_STEPS",
    "day",
    "mask_phone",
    "money",
    "price_per_period",
    "subscription_line",
]


def day(value: Optional[datetime], tz: str, today: Optional[date] = None) -> str:
    """A date as users say it: 12月5日, with the year when it is not this year."""
    if value is None:
        return "无"
    local = value.astimezone(ZoneInfo(tz)).date()
    if today is not None and local.year != today.year:
        return f"{local.year}年{local.month}月{local.day}日"
    return f"{local.month}月{local.day}日"


def money(amount: Decimal) -> str:
    """¥25 or ¥25.50."""
    quantised = amount.quantize(Decimal("0.01"))
    text = f"{quantised:.2f}".rstrip("0").rstrip(".") if quantised % 1 == 0 else f"{quantised:.2f}"
    return f"¥{text}"


def price_per_period(amount: Decimal, period: str) -> str:
    """¥25/月."""
    return f"{money(amount)}/{PERIOD_UNITS.get(period, period)}"


def subscription_line(index: int, sub, tz: str, today: Optional[date] = None) -> str:
    """One numbered line of a membership list."""
    price = price_per_period(sub.price, sub.period)
    billing = BILLING_LABELS.get(sub.billing_channel, sub.billing_channel)
    if sub.status == SubscriptionStatus.ACTIVE:
        when = f"下次扣费{day(sub.next_charge_at, tz, today)}"
    else:
        when = f"已于{day(sub.cancelled_at, tz, today)}取消，权益到{day(sub.period_end, tz, today)}"
    return f"{index}. {sub.product_name}（{sub.plan_name} {price}，{billing}，{when}）"


def charge_line(index: int, charge, tz: str, today: Optional[date] = None) -> str:
    """One numbered line of a charge list."""
    when = day(charge.charged_at, tz, today)
    line = f"{index}. {when} {charge.product_name} {money(charge.amount)}"
    if charge.after_cancellation:
        line += f"（在{day(charge.cancelled_at, tz, today)}取消之后扣的）"
    return line


def cancellation_line(index: int, item, tz: str, today: Optional[date] = None) -> str:
    """One numbered line of a list of cancellations."""
    return (
        f"{index}. {item.product_name}：{day(item.requested_at, tz, today)}取消，"
        f"凭证号{item.reference}，权益到{day(item.effective_until, tz, today)}"
    )


# Labels of the summary a human agent reads with a handoff ticket (operator-facing).
SUMMARY_LABELS = {
    "channel": "渠道",
    "identity": "身份",
    "verified": "已验证",
    "unverified": "未验证",
    "goal": "当前事项",
    "service": "涉及会员",
    "references": "本次凭证号",
    "recent": "最近对话",
}
