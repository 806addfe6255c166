"""The interface every payment-partner adapter (支付宝, 微信) implements."""

from __future__ import annotations

from typing import Protocol


class PartnerError(Exception):
    """The partner refused or failed to cancel the agreement; nothing was cancelled."""


class PartnerTimeout(PartnerError):
    """The partner did not answer in time; the agreement's state is unknown."""


class PartnerGateway(Protocol):
    """Cancels an auto-debit agreement (免密支付/自动扣款) at a payment partner."""

    def cancel_agreement(self, *, channel: str, agreement_id: str, idempotency_key: str) -> str:
        """Cancels the agreement and returns the partner's confirmation id.

        `channel` is "alipay" or "wechat". Repeating a call with the same idempotency key
        must not cancel twice. Raises PartnerTimeout or PartnerError on failure.
        """
        ...
