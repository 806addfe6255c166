"""The simulated 支付宝/微信 partner, its control file, and the partner factory."""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from pathlib import Path

import pytest

from core.partners import (
    PartnerError,
    PartnerGateway,
    PartnerTimeout,
    SimulatedPartner,
    build_partners,
    set_partner_mode,
)
from core.partners.simulated import ledger_path, read_confirmations
from core.settings import Settings

CONFIRMATION = re.compile(r"^SIM-(ALIPAY|WECHAT)-[0-9A-F]{16}$")


@pytest.fixture
def control(tmp_path: Path) -> Path:
    # Inside a folder that does not exist yet, as var/ on a fresh checkout.
    return tmp_path / "var" / "partner_sim.json"


def _cancel(partner: SimulatedPartner, channel: str = "alipay", key: str = "key-1") -> str:
    return partner.cancel_agreement(
        channel=channel, agreement_id=f"AGR-{channel}-1", idempotency_key=key
    )


# --- ok mode and idempotency ------------------------------------------------------------


def test_missing_control_file_means_ok(control: Path) -> None:
    assert not control.exists()
    confirmation = _cancel(SimulatedPartner(control, timeout_seconds=1))
    assert confirmation.startswith("SIM-ALIPAY-")
    assert CONFIRMATION.match(confirmation)


def test_channel_names_the_confirmation(control: Path) -> None:
    partner = SimulatedPartner(control, timeout_seconds=1)
    assert _cancel(partner, "wechat", key="w").startswith("SIM-WECHAT-")
    assert _cancel(partner, "alipay", key="a").startswith("SIM-ALIPAY-")


def test_same_key_gives_the_same_confirmation_and_one_cancellation(control: Path) -> None:
    partner = SimulatedPartner(control, timeout_seconds=1)
    first = _cancel(partner, key="order-42")
    assert _cancel(partner, key="order-42") == first
    assert _cancel(partner, key="order-43") != first

    confirmations = read_confirmations(control)
    assert [c["idempotency_key"] for c in confirmations] == ["order-42", "order-43"]
    assert confirmations[0]["confirmation_id"] == first
    assert confirmations[0]["agreement_id"] == "AGR-alipay-1"
    assert confirmations[0]["channel"] == "alipay"


def test_two_instances_agree_through_the_sidecar(control: Path) -> None:
    first = _cancel(SimulatedPartner(control, timeout_seconds=1), key="shared")
    second = _cancel(SimulatedPartner(control, timeout_seconds=1), key="shared")
    assert first == second
    assert ledger_path(control).parent == control.parent
    assert len(read_confirmations(control)) == 1


def _cancel_in_child(control: str, queue: multiprocessing.Queue) -> None:
    queue.put(_cancel(SimulatedPartner(control, timeout_seconds=1), key="cross-process"))


def test_separate_processes_agree_and_cancel_once(control: Path) -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [
        context.Process(target=_cancel_in_child, args=(str(control), queue)) for _ in range(4)
    ]
    for child in children:
        child.start()
    ids = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    here = _cancel(SimulatedPartner(control, timeout_seconds=1), key="cross-process")
    assert set(ids) == {here}
    assert len(read_confirmations(control)) == 1


def test_a_key_cannot_be_reused_for_another_agreement(control: Path) -> None:
    partner = SimulatedPartner(control, timeout_seconds=1)
    partner.cancel_agreement(channel="alipay", agreement_id="AGR-1", idempotency_key="k")
    with pytest.raises(ValueError, match="already used"):
        partner.cancel_agreement(channel="alipay", agreement_id="AGR-2", idempotency_key="k")
    with pytest.raises(ValueError, match="already used"):
        SimulatedPartner(control, timeout_seconds=1).cancel_agreement(
            channel="wechat", agreement_id="AGR-1", idempotency_key="k"
        )


# --- fail and timeout modes -------------------------------------------------------------


def test_fail_mode_refuses_and_records_nothing(control: Path) -> None:
    set_partner_mode(control, "fail")
    with pytest.raises(PartnerError, match="^partner refused: ") as caught:
        _cancel(SimulatedPartner(control, timeout_seconds=1))
    assert not isinstance(caught.value, PartnerTimeout)
    assert read_confirmations(control) == []


def test_mode_is_read_at_every_call(control: Path) -> None:
    partner = SimulatedPartner(control, timeout_seconds=1)
    set_partner_mode(control, "fail")
    with pytest.raises(PartnerError):
        _cancel(partner, key="retry-me")
    set_partner_mode(control, "ok")
    assert _cancel(partner, key="retry-me").startswith("SIM-ALIPAY-")


def test_timeout_mode_gives_up_after_the_timeout(control: Path) -> None:
    set_partner_mode(control, "timeout", delay_seconds=30)
    started = time.monotonic()
    with pytest.raises(PartnerTimeout, match="did not answer within 0.2 s"):
        _cancel(SimulatedPartner(control, timeout_seconds=0.2))
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.5
    assert read_confirmations(control) == []


def test_timeout_mode_with_a_short_delay_waits_only_the_delay(control: Path) -> None:
    set_partner_mode(control, "timeout", delay_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(PartnerTimeout):
        _cancel(SimulatedPartner(control, timeout_seconds=5))
    assert time.monotonic() - started < 1.0


def test_timeout_is_a_partner_error(control: Path) -> None:
    # Callers that only handle PartnerError still see a timeout as a failure.
    set_partner_mode(control, "timeout")
    with pytest.raises(PartnerError):
        _cancel(SimulatedPartner(control, timeout_seconds=0.1))


def test_slow_success_within_the_timeout_succeeds(control: Path) -> None:
    set_partner_mode(control, "ok", delay_seconds=0.1)
    started = time.monotonic()
    assert _cancel(SimulatedPartner(control, timeout_seconds=2)).startswith("SIM-ALIPAY-")
    assert time.monotonic() - started >= 0.1


def test_success_too_slow_for_the_timeout_is_a_timeout_then_confirmed(control: Path) -> None:
    set_partner_mode(control, "ok", delay_seconds=30)
    partner = SimulatedPartner(control, timeout_seconds=0.1)
    with pytest.raises(PartnerTimeout):
        _cancel(partner, key="late")
    # The partner did cancel: once it answers in time, the retry confirms the same agreement.
    set_partner_mode(control, "ok")
    confirmation = _cancel(partner, key="late")
    assert [c["confirmation_id"] for c in read_confirmations(control)] == [confirmation]


def test_channel_filter_limits_the_mode(control: Path) -> None:
    set_partner_mode(control, "fail", channels=["alipay"])
    partner = SimulatedPartner(control, timeout_seconds=1)
    with pytest.raises(PartnerError, match="支付宝"):
        _cancel(partner, "alipay", key="a")
    assert _cancel(partner, "wechat", key="w").startswith("SIM-WECHAT-")


def test_channel_filter_also_limits_timeouts(control: Path) -> None:
    set_partner_mode(control, "timeout", channels=["wechat"], delay_seconds=30)
    partner = SimulatedPartner(control, timeout_seconds=0.1)
    assert _cancel(partner, "alipay", key="a").startswith("SIM-ALIPAY-")
    with pytest.raises(PartnerTimeout, match="微信"):
        _cancel(partner, "wechat", key="w")


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["unionpay", "Alipay", ""])
def test_unknown_channel_is_rejected(control: Path, channel: str) -> None:
    with pytest.raises(ValueError, match="channel"):
        SimulatedPartner(control, 1).cancel_agreement(
            channel=channel, agreement_id="AGR-1", idempotency_key="k"
        )


@pytest.mark.parametrize("agreement_id", ["", "   "])
def test_empty_agreement_is_rejected(control: Path, agreement_id: str) -> None:
    with pytest.raises(ValueError, match="agreement_id"):
        SimulatedPartner(control, 1).cancel_agreement(
            channel="alipay", agreement_id=agreement_id, idempotency_key="k"
        )


def test_empty_idempotency_key_is_rejected(control: Path) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        SimulatedPartner(control, 1).cancel_agreement(
            channel="alipay", agreement_id="AGR-1", idempotency_key=""
        )


def test_validation_comes_before_the_mode(control: Path) -> None:
    set_partner_mode(control, "timeout", delay_seconds=30)
    with pytest.raises(ValueError):
        SimulatedPartner(control, 5).cancel_agreement(
            channel="paypal", agreement_id="AGR-1", idempotency_key="k"
        )


def test_non_positive_timeout_is_rejected(control: Path) -> None:
    with pytest.raises(ValueError, match="timeout"):
        SimulatedPartner(control, 0)


def test_set_partner_mode_writes_the_control_file(control: Path) -> None:
    set_partner_mode(control, "timeout", channels=["wechat"], delay_seconds=2)
    assert json.loads(control.read_text(encoding="utf-8")) == {
        "mode": "timeout",
        "channels": ["wechat"],
        "delay_seconds": 2,
    }
    assert [p.name for p in control.parent.iterdir()] == [control.name]  # no temp file left


@pytest.mark.parametrize(
    ("mode", "channels", "delay"),
    [("slow", None, 0), ("ok", ["unionpay"], 0), ("ok", None, -1)],
)
def test_set_partner_mode_rejects_bad_values(
    control: Path, mode: str, channels: list[str] | None, delay: float
) -> None:
    with pytest.raises(ValueError):
        set_partner_mode(control, mode, channels=channels, delay_seconds=delay)
    assert not control.exists()


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"mode": "sometimes"}', '{"channels": "alipay"}', '{"delay_seconds": "1"}'],
)
def test_a_broken_control_file_is_reported_with_its_path(control: Path, content: str) -> None:
    control.parent.mkdir(parents=True)
    control.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="partner control file"):
        _cancel(SimulatedPartner(control, 1))


def test_a_hand_written_control_file_is_honoured(control: Path) -> None:
    control.parent.mkdir(parents=True)
    control.write_text('{"mode": "fail"}', encoding="utf-8")
    with pytest.raises(PartnerError):
        _cancel(SimulatedPartner(control, 1))


# --- factory ----------------------------------------------------------------------------


def test_build_partners_gives_the_simulated_partner_for_both_channels(control: Path) -> None:
    settings = Settings(partner_sim_control=control, partner_timeout_seconds=0.1)
    for env in ({}, {"PARTNER_GATEWAY": "simulated"}):
        partners: dict[str, PartnerGateway] = build_partners(settings, env=env)
        assert set(partners) == {"alipay", "wechat"}
        assert all(isinstance(p, SimulatedPartner) for p in partners.values())

    set_partner_mode(control, "timeout", delay_seconds=30)
    started = time.monotonic()
    with pytest.raises(PartnerTimeout):
        build_partners(settings, env={})["wechat"].cancel_agreement(
            channel="wechat", agreement_id="AGR-1", idempotency_key="k"
        )
    assert time.monotonic() - started < 1.0  # the settings' timeout is the one used


def test_build_partners_explains_what_a_production_adapter_needs() -> None:
    with pytest.raises(ValueError) as caught:
        build_partners(Settings(), env={"PARTNER_GATEWAY": "alipay-production"})
    message = str(caught.value)
    assert "'alipay-production'" in message
    assert "simulated" in message
    assert "PartnerGateway" in message
    assert "cancel_agreement" in message
