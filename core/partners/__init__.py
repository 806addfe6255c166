"""Payment-partner adapters (支付宝, 微信) that cancel auto-debit agreements."""

from __future__ import annotations

import os
from typing import Mapping, Optional

from core.partners.base import PartnerError, PartnerGateway, PartnerTimeout
from core.partners.simulated import SimulatedPartner, set_partner_mode
from core.settings import Settings

__all__ = [
    "PartnerError",
    "PartnerGateway",
    "PartnerTimeout",
    "SimulatedPartner",
    "build_partners",
    "set_partner_mode",
]


def build_partners(
    settings: Settings, env: Optional[Mapping[str, str]] = None
) -> dict[str, PartnerGateway]:
    """Returns the gateway for each partner channel: {'alipay': ..., 'wechat': ...}."""
    env = os.environ if env is None else env
    kind = env.get("PARTNER_GATEWAY", "").strip().lower() or "simulated"
    if kind != "simulated":
        raise ValueError(
            f"PARTNER_GATEWAY={kind!r} is not available: this build contains only the simulated "
            "development partner (PARTNER_GATEWAY=simulated). A production adapter must "
            "implement core.partners.base.PartnerGateway: cancel_agreement(*, channel, "
            "agreement_id, idempotency_key) returning the partner's confirmation id, the same "
            "one again for a repeated idempotency key, raising PartnerTimeout when the partner "
            "does not answer in time and PartnerError when it refuses."
        )
    # One instance serves both channels: the channel is an argument of every call.
    partner = SimulatedPartner(settings.partner_sim_control, settings.partner_timeout_seconds)
    return {"alipay": partner, "wechat": partner}
