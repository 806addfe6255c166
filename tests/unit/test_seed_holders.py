"""core.store.seed.seed_holders: fresh holders copying a demo holder, under new numbers."""

from __future__ import annotations

import random
from datetime import timedelta

from core.store.seed import HOLDER_DATA, seed_holders

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, ZHAO = "13800138000", "13600136000"


def _shape(service, phone, now):
    return sorted(
        (s.product_name, s.status, s.period_end - now, s.billing_channel)
        for s in service.subscriptions(phone)
    )


def test_a_fresh_holder_has_the_demo_holders_memberships_relative_to_now(service, clock) -> None:
    """Memberships, cancellations and charges as the demo's, dated from the given now."""
    later = clock() + timedelta(days=9)
    zhang, zhao = seed_holders(service, [ZHANG, ZHAO], later, random.Random(7))
    assert zhang not in HOLDER_DATA and zhao not in HOLDER_DATA and zhang != zhao
    assert _shape(service, zhang, later) == _shape(service, ZHANG, clock())
    assert _shape(service, zhao, later) == _shape(service, ZHAO, clock())
    assert len(service.cancellations(zhang)) == len(service.cancellations(ZHANG)) == 1
    assert service.account(zhao).status == "arrears"
    # The demo holders are untouched.
    assert len(service.subscriptions(ZHANG)) == 3


def test_numbers_already_stored_are_never_reused(service, clock) -> None:
    """The same random sequence twice: the second call gets other numbers."""
    first = seed_holders(service, [ZHANG], clock(), random.Random(1))
    second = seed_holders(service, [ZHANG], clock(), random.Random(1))
    assert first != second


def test_the_store_state_of_fresh_holders(service, clock) -> None:
    """state_of: the numbers' memberships and cancellations; refund cases and tickets."""
    (zhang,) = seed_holders(service, [ZHANG], clock(), random.Random(3))
    state = service.state_of([zhang])
    assert sorted(status for status, _ in state.subscriptions.values()) == [
        "active",
        "active",
        "cancelled",
    ]
    assert len(state.cancellations) == 1 and state.refund_cases == {}
    ticket = service.open_handoff(conversation_id="c1", channel="rest", phone=zhang, summary="s")
    assert service.state_of([zhang]).tickets == {ticket.reference: "c1"}
