"""The texts of every SMS the assistant sends, signed 【退订助手】."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Optional, Union
from zoneinfo import ZoneInfo

SIGNATURE = "【退订助手】"
# One GSM/UCS-2 SMS holds 70 Chinese characters; longer texts are split and cost more.
SINGLE_SMS_LENGTH = 70
# Dates shown to users are Shanghai dates, whatever the server's own timezone.
DISPLAY_TIMEZONE = "Asia/Shanghai"

_CODE = re.compile(r"[0-9]{6}")


def _today_in_shanghai() -> date:
    return datetime.now(ZoneInfo(DISPLAY_TIMEZONE)).date()


def format_date(day: date, today: Optional[date] = None) -> str:
    """Renders a date as 12月5日, with the year only when it is not the current one."""
    if today is None:
        today = _today_in_shanghai()
    if day.year != today.year:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.month}月{day.day}日"


def format_amount(amount: Union[Decimal, int, str]) -> str:
    """Renders money as 25.00元 (two decimals, no float rounding)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {amount!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError("an amount must be a finite, non-negative number of yuan")
    return f"{value.quantize(Decimal('0.01'))}元"


def _required(name: str, value: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{name} is empty")
    return value.strip()


def verification_code(code: str, minutes: int) -> str:
    """The verification SMS; the code is its only run of six digits, as the contract requires."""
    if _CODE.fullmatch(code) is None:
        raise ValueError("a verification code is 6 ASCII digits")
    if minutes <= 0:
        raise ValueError("a code must be valid for at least one minute")
    return f"{SIGNATURE}验证码{code}，{minutes}分钟内有效，仅用于取消会员自动续费。请勿告诉他人。"


def cancellation_receipt(
    product_name: str,
    reference: str,
    effective_until: date,
    today: Optional[date] = None,
) -> str:
    """The receipt sent once a cancellation is stored: what, reference, benefits until when."""
    product = _required("product_name", product_name)
    ref = _required("reference", reference)
    until = format_date(effective_until, today)
    return f"{SIGNATURE}您已取消{product}的自动续费，凭证号{ref}。权益保留至{until}，此后不再扣费。"


def refund_case_opened(reference: str, product_name: str, amount: Union[Decimal, int, str]) -> str:
    """Confirms that a refund request for a charge was registered and will be answered."""
    ref = _required("reference", reference)
    product = _required("product_name", product_name)
    return (
        f"{SIGNATURE}您对{product}扣费{format_amount(amount)}的退款申请已受理，"
        f"受理号{ref}。处理结果将短信通知您。"
    )


def handoff_opened(reference: str) -> str:
    """Confirms that a human agent will take over, with the ticket number to quote."""
    ref = _required("reference", reference)
    return f"{SIGNATURE}您的人工服务请求已受理，工单号{ref}。客服将尽快联系您，请留意来电。"
