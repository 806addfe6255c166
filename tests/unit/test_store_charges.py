"""Reviewing charges and refund cases (core/store/charges.py)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.references import is_valid_reference
from core.store import ChargeNotFound, InvalidArgument
from core.store.models import RefundCase

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, ZHAO = "13800138000", "13900139000", "13600136000"


def _wrong_charge(service):
    (charge,) = (c for c in service.review_charges(ZHANG) if c.after_cancellation)
    return charge


def test_charges_are_newest_first_within_the_days_asked(service, clock) -> None:
    reviews = service.review_charges(ZHANG)
    assert reviews and all(clock() - r.charged_at <= timedelta(days=90) for r in reviews)
    assert [r.charged_at for r in reviews] == sorted((r.charged_at for r in reviews), reverse=True)
    assert len(service.review_charges(ZHANG, days=400)) > len(reviews)
    assert [r.product_name for r in service.review_charges(ZHANG, days=7)] == ["咪咕视频钻石会员"]
    assert service.review_charges("13700137000") == []
    with pytest.raises(InvalidArgument):
        service.review_charges(ZHANG, days=0)


def test_flags_of_the_charge_after_cancellation(service, clock) -> None:
    charge = _wrong_charge(service)
    assert charge.product_name == "咪咕视频钻石会员" and charge.amount == Decimal("20.00")
    assert charge.subscription_status == "cancelled"
    assert charge.cancelled_at == clock() - timedelta(days=20)
    assert charge.after_cancellation and charge.within_refund_window
    assert charge.refund_reference is None


def test_flags_of_ordinary_charges(service, clock, settings) -> None:
    for review in service.review_charges(ZHANG, days=400):
        if review.product_name == "腾讯视频VIP":
            assert review.cancelled_at is None and not review.after_cancellation
            window = clock() - review.charged_at <= timedelta(days=settings.refund_window_days)
            assert review.within_refund_window == window
    migu_before = [r for r in service.review_charges(ZHANG) if r.product_name == "咪咕视频钻石会员"]
    assert any(not r.after_cancellation and r.cancelled_at is not None for r in migu_before)


def test_the_refund_window_ends(service, clock, settings) -> None:
    (yesterday,) = service.review_charges(ZHAO)
    assert yesterday.within_refund_window
    clock.advance(days=settings.refund_window_days - 1, seconds=1)
    (later,) = service.review_charges(ZHAO)
    assert not later.within_refund_window


def test_open_a_refund_case_once_per_charge(service, session_factory, clock) -> None:
    charge = _wrong_charge(service)
    case = service.open_refund_case(
        charge.charge_id, phone=ZHANG, conversation_id="c1", reason="charged after cancelling"
    )
    assert case.created and is_valid_reference(case.reference, prefix="RF")
    assert case.reference.startswith("RF20261124")
    assert (case.amount, case.product_name, case.created_at) == (
        Decimal("20.00"),
        "咪咕视频钻石会员",
        clock(),
    )
    clock.advance(hours=1)
    again = service.open_refund_case(charge.charge_id, phone=ZHANG, conversation_id="c2", reason="")
    assert not again.created
    assert (again.reference, again.created_at) == (case.reference, case.created_at)
    assert _wrong_charge(service).refund_reference == case.reference
    with session_factory.begin() as session:
        assert session.execute(select(func.count()).select_from(RefundCase)).scalar_one() == 1


def test_a_charge_of_another_phone_is_refused(service) -> None:
    charge = _wrong_charge(service)
    with pytest.raises(ChargeNotFound) as error:
        service.open_refund_case(charge.charge_id, phone=LI, conversation_id="c", reason="x")
    assert isinstance(error.value, ValueError)
    with pytest.raises(ValueError):
        service.open_refund_case(123_456, phone=ZHANG, conversation_id="c", reason="x")


def test_concurrent_refund_requests_make_one_case(service, session_factory) -> None:
    charge = _wrong_charge(service)
    cases = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        cases.append(
            service.open_refund_case(charge.charge_id, phone=ZHANG, conversation_id="c", reason="")
        )

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({c.reference for c in cases}) == 1 and sum(c.created for c in cases) == 1
