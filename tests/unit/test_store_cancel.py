"""Cancelling memberships for each billing channel (core/store/cancellations.py)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import core.store.cancellations as cancellations_module
from core.references import is_valid_reference
from core.store import IdempotencyConflict, PartnerNotConfigured, SubscriptionService
from core.store.models import AuditEvent, Cancellation, Subscription

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, ZHAO = "13800138000", "13900139000", "13600136000"


def _cancel(service: SubscriptionService, sub_id: int, phone: str, key: str = "key-1", **kw):
    return service.cancel(
        sub_id,
        phone=phone,
        channel=kw.pop("channel", "web"),
        conversation_id=kw.pop("conversation_id", "conv-1"),
        idempotency_key=key,
    )


def _cancellation_rows(session_factory, sub_id: int) -> list[tuple]:
    """(reference, channel, conversation_id, idempotency_key) of the subscription's rows."""
    with session_factory.begin() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Cancellation.reference,
                    Cancellation.channel,
                    Cancellation.conversation_id,
                    Cancellation.idempotency_key,
                ).where(Cancellation.subscription_id == sub_id)
            )
        ]


def _state(session_factory, sub_id: int) -> tuple:
    with session_factory.begin() as session:
        sub = session.get(Subscription, sub_id)
        count = session.execute(select(func.count()).select_from(Cancellation)).scalar_one()
        return (sub.status, sub.auto_renew, sub.next_charge_at, count)


def test_phone_bill_is_cancelled_in_the_store(service, subscription_of, session_factory, clock):
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    before = service.subscription(sub_id)
    outcome = _cancel(service, sub_id, ZHANG)
    assert outcome.status == "cancelled"
    assert is_valid_reference(outcome.reference, prefix="TD")
    assert outcome.reference.startswith("TD20261124")
    assert outcome.cancelled_at == clock()
    assert outcome.effective_until == before.period_end
    after = outcome.subscription
    assert (after.status, after.auto_renew, after.next_charge_at) == ("cancelled", False, None)
    assert (after.reference, after.cancelled_at) == (outcome.reference, clock())
    assert service.subscription(sub_id) == after
    assert _cancellation_rows(session_factory, sub_id) == [
        (outcome.reference, "web", "conv-1", "key-1")
    ]
    with session_factory.begin() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "subscription_cancelled")
        ).scalar_one()
        assert event.phone_masked == "138****8000" and event.conversation_id == "conv-1"
        assert event.detail["reference"] == outcome.reference


def test_the_reference_date_is_the_date_in_shanghai(service, subscription_of, clock) -> None:
    clock.now = clock.now.replace(hour=17)  # 01:00 the next day in Shanghai
    outcome = _cancel(service, subscription_of(ZHANG, "QQ音乐绿钻"), ZHANG)
    assert outcome.reference.startswith("TD20261125")


def test_the_same_idempotency_key_twice_gives_one_row_and_one_reference(
    service, subscription_of, session_factory
) -> None:
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    first = _cancel(service, sub_id, ZHANG, key="same")
    second = _cancel(service, sub_id, ZHANG, key="same")
    assert second.status == "cancelled"
    assert (second.reference, second.cancelled_at) == (first.reference, first.cancelled_at)
    assert len(_cancellation_rows(session_factory, sub_id)) == 1


def test_another_request_for_a_cancelled_subscription_returns_its_reference(
    service, subscription_of, session_factory, clock
) -> None:
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    first = _cancel(service, sub_id, ZHANG, key="one")
    clock.advance(days=1)
    again = _cancel(service, sub_id, ZHANG, key="two", conversation_id="conv-2")
    assert again.status == "already_cancelled"
    assert (again.reference, again.cancelled_at) == (first.reference, first.cancelled_at)
    assert len(_cancellation_rows(session_factory, sub_id)) == 1


def test_the_seeded_cancellation_is_already_cancelled(service, subscription_of, clock) -> None:
    sub_id = subscription_of(ZHANG, "咪咕视频钻石会员")
    seeded = service.subscription(sub_id)
    outcome = _cancel(service, sub_id, ZHANG)
    assert outcome.status == "already_cancelled"
    assert outcome.reference == seeded.reference
    assert outcome.effective_until == clock() - timedelta(days=5)
    assert service.subscription(sub_id) == seeded


def test_another_phones_subscription_is_not_found(service, subscription_of, session_factory):
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    before = _state(session_factory, sub_id)
    outcome = _cancel(service, sub_id, LI)
    assert (outcome.status, outcome.subscription, outcome.reference) == ("not_found", None, None)
    assert _cancel(service, 999_999, ZHANG).status == "not_found"
    assert _state(session_factory, sub_id) == before


def test_an_account_in_arrears_can_cancel(service, subscription_of) -> None:
    assert service.account(ZHAO).status == "arrears"
    outcome = _cancel(service, subscription_of(ZHAO, "网易云音乐黑胶VIP"), ZHAO)
    assert outcome.status == "cancelled" and is_valid_reference(outcome.reference)


def test_app_store_subscriptions_are_not_touched(
    service, subscription_of, session_factory, partners
) -> None:
    sub_id = subscription_of(LI, "百度网盘超级会员")
    before = _state(session_factory, sub_id)
    outcome = _cancel(service, sub_id, LI)
    assert outcome.status == "app_store" and outcome.reference is None
    assert outcome.subscription.billing_channel == "app_store"
    assert _state(session_factory, sub_id) == before
    assert partners["alipay"].calls == [] and partners["wechat"].calls == []


def test_alipay_is_cancelled_at_the_partner_first(service, subscription_of, partners) -> None:
    sub_id = subscription_of(LI, "爱奇艺黄金VIP")
    outcome = _cancel(service, sub_id, LI, key="ali-key")
    assert outcome.status == "cancelled" and is_valid_reference(outcome.reference)
    assert outcome.subscription.status == "cancelled" and not outcome.subscription.auto_renew
    (call,) = partners["alipay"].calls
    assert call["channel"] == "alipay" and call["idempotency_key"] == "ali-key"
    assert call["agreement_id"] == "ALIPAY-AGR-2024000158"
    # A repeat answers from the store without calling the partner again.
    assert _cancel(service, sub_id, LI, key="ali-key").reference == outcome.reference
    assert len(partners["alipay"].calls) == 1


def test_wechat_is_cancelled_at_the_partner_first(service, add_subscription, partners) -> None:
    sub_id = add_subscription(LI, "youku", billing_channel="wechat", agreement_id="WX-1")
    outcome = _cancel(service, sub_id, LI)
    assert outcome.status == "cancelled"
    assert partners["wechat"].calls[0]["agreement_id"] == "WX-1"
    assert partners["alipay"].calls == []


@pytest.mark.parametrize(
    ("mode", "status"), [("fail", "partner_failed"), ("timeout", "partner_timeout")]
)
@pytest.mark.parametrize("channel", ["alipay", "wechat"])
def test_a_failing_partner_changes_nothing(
    service, subscription_of, add_subscription, session_factory, partners, mode, status, channel
) -> None:
    if channel == "alipay":
        sub_id = subscription_of(LI, "爱奇艺黄金VIP")
    else:
        sub_id = add_subscription(LI, "mgtv", billing_channel="wechat", agreement_id="WX-2")
    before = _state(session_factory, sub_id)
    partners[channel].mode = mode
    outcome = _cancel(service, sub_id, LI)
    assert (outcome.status, outcome.reference, outcome.cancelled_at) == (status, None, None)
    assert outcome.subscription.status == "active" and outcome.subscription.auto_renew
    assert _state(session_factory, sub_id) == before
    # The partner recovers: the same request now goes through.
    partners[channel].mode = "ok"
    assert _cancel(service, sub_id, LI).status == "cancelled"


def test_a_missing_partner_gateway_is_an_error(
    session_factory, catalog, settings, clock, subscription_of
) -> None:
    bare = SubscriptionService(session_factory, catalog, settings, {}, clock)
    with pytest.raises(PartnerNotConfigured):
        _cancel(bare, subscription_of(LI, "爱奇艺黄金VIP"), LI)


def test_reusing_a_key_for_another_subscription_is_refused(service, subscription_of) -> None:
    _cancel(service, subscription_of(ZHANG, "腾讯视频VIP"), ZHANG, key="shared")
    with pytest.raises(IdempotencyConflict):
        _cancel(service, subscription_of(ZHANG, "QQ音乐绿钻"), ZHANG, key="shared")


def _add_winners_cancellation(session_factory, sub_id: int, clock) -> None:
    """Another request's cancellation of `sub_id` (reference TD20261124K7M2Q5), committed."""
    with session_factory.begin() as session:
        session.add(
            Cancellation(
                reference="TD20261124K7M2Q5",
                subscription_id=sub_id,
                idempotency_key="winner",
                channel="voice",
                conversation_id="other",
                requested_at=clock(),
                effective_until=clock() + timedelta(days=10),
            )
        )


def test_a_lost_race_is_answered_with_the_winners_row(
    service, subscription_of, session_factory, clock
) -> None:
    # The winner's row exists but the subscription still reads active: exactly the state a
    # loser sees between its read and its write. The unique constraint must catch it.
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    _add_winners_cancellation(session_factory, sub_id, clock)
    outcome = _cancel(service, sub_id, ZHANG, key="loser")
    assert (outcome.status, outcome.reference) == ("already_cancelled", "TD20261124K7M2Q5")
    assert len(_cancellation_rows(session_factory, sub_id)) == 1


def test_a_reference_collision_is_retried(
    service, subscription_of, monkeypatch, session_factory
) -> None:
    taken = _cancel(service, subscription_of(ZHANG, "腾讯视频VIP"), ZHANG, key="a").reference
    fresh = "TD20261124K7M2Q5"
    answers = iter([taken, fresh])
    monkeypatch.setattr(cancellations_module, "new_reference", lambda prefix, day: next(answers))
    outcome = _cancel(service, subscription_of(ZHANG, "QQ音乐绿钻"), ZHANG, key="b")
    assert (outcome.status, outcome.reference) == ("cancelled", fresh)


def test_concurrent_cancels_make_one_row(service, subscription_of, session_factory) -> None:
    sub_id = subscription_of(ZHANG, "腾讯视频VIP")
    outcomes = []
    barrier = threading.Barrier(6)

    def worker(n: int) -> None:
        barrier.wait()
        outcomes.append(_cancel(service, sub_id, ZHANG, key=f"k{n % 2}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 6
    assert len({o.reference for o in outcomes}) == 1
    assert sum(o.status == "cancelled" for o in outcomes) >= 1
    assert len(_cancellation_rows(session_factory, sub_id)) == 1


def test_record_reason_and_lookups(service, subscription_of, clock) -> None:
    outcome = _cancel(service, subscription_of(ZHANG, "QQ音乐绿钻"), ZHANG)
    assert service.record_reason(outcome.reference, "太贵了")
    assert not service.record_reason("TD20261101B2N6WD", "x")
    assert not service.record_reason("nonsense", "x")
    spoken = " ".join(outcome.reference.lower())
    view = service.cancellation(spoken)
    assert (view.reference, view.product_name, view.phone) == (
        outcome.reference,
        "QQ音乐绿钻",
        ZHANG,
    )
    assert (view.channel, view.status, view.reason) == ("web", "cancelled", "太贵了")
    assert view.requested_at == clock() and view.effective_until == outcome.effective_until
    assert service.cancellation("TD20261101B2N6WD") is None
    assert service.cancellation("hello") is None
    assert [c.product_name for c in service.cancellations(ZHANG)] == [
        "QQ音乐绿钻",
        "咪咕视频钻石会员",
    ]
    assert service.cancellations(LI) == []


def test_views_are_frozen_snapshots(service, subscription_of) -> None:
    view = service.subscription(subscription_of(ZHANG, "腾讯视频VIP"))
    assert isinstance(view.price, Decimal)
    with pytest.raises(AttributeError):
        view.status = "cancelled"


def test_a_subscription_cancelled_elsewhere_is_already_cancelled_without_a_reference(
    service, subscription_of, session_factory, partners
) -> None:
    # Cancelled outside this assistant: the row says so, but there is no cancellation row.
    sub_id = subscription_of(LI, "爱奇艺黄金VIP")
    with session_factory.begin() as session:
        session.get(Subscription, sub_id).status = "cancelled"
    outcome = _cancel(service, sub_id, LI)
    assert (outcome.status, outcome.reference, outcome.cancelled_at) == (
        "already_cancelled",
        None,
        None,
    )
    assert outcome.effective_until == outcome.subscription.period_end
    assert outcome.subscription == service.subscription(sub_id)
    assert partners["alipay"].calls == []
    assert _cancellation_rows(session_factory, sub_id) == []


def test_a_cancellation_made_while_the_partner_answered_is_the_answer(
    service, subscription_of, session_factory, partners, clock
) -> None:
    # Another request wins while this one waits for the partner: the write finds its row
    # (under the row lock) and answers with it instead of cancelling twice.
    sub_id = subscription_of(LI, "爱奇艺黄金VIP")
    confirm = partners["alipay"].cancel_agreement

    def winner_first(**call: str) -> str:
        _add_winners_cancellation(session_factory, sub_id, clock)
        return confirm(**call)

    partners["alipay"].cancel_agreement = winner_first
    outcome = _cancel(service, sub_id, LI, key="loser")
    assert (outcome.status, outcome.reference, outcome.repeat) == (
        "already_cancelled",
        "TD20261124K7M2Q5",
        False,
    )
    assert outcome.subscription == service.subscription(sub_id)
    assert outcome.subscription.reference == "TD20261124K7M2Q5"
    assert len(_cancellation_rows(session_factory, sub_id)) == 1
