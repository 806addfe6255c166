"""Reading accounts and memberships (queries.py, services.py)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import datetime

import pytest

from core.store import AccountView, InvalidPhone, SubscriptionService, SubscriptionView, queries
from core.store.models import Subscription

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI = "13800138000", "13900139000"


def test_account_of_a_phone(service) -> None:
    assert service.account(ZHANG) == AccountView(ZHANG, "张三", "active")
    assert service.account("13500135000") is None
    with pytest.raises(InvalidPhone):
        service.account("12345")


def test_subscriptions_active_first_then_by_next_charge(service) -> None:
    views = service.subscriptions(ZHANG)
    assert [v.product_name for v in views] == ["QQ音乐绿钻", "腾讯视频VIP", "咪咕视频钻石会员"]
    assert all(isinstance(v, SubscriptionView) for v in views)
    assert [v.product_name for v in service.subscriptions(LI)] == [
        "爱奇艺黄金VIP",
        "百度网盘超级会员",
    ]


def test_one_subscription_by_id(service) -> None:
    tencent = next(v for v in service.subscriptions(ZHANG) if v.product_code == "tencent_video")
    assert service.subscription(tencent.id) == tencent
    assert (tencent.provider, tencent.reference, tencent.cancelled_at) == ("腾讯视频", None, None)
    assert service.subscription(987_654) is None


def test_views_cannot_be_changed(service) -> None:
    with pytest.raises(FrozenInstanceError):
        service.account(ZHANG).status = "arrears"


def test_times_are_aware_utc(service) -> None:
    for view in service.subscriptions(ZHANG):
        assert view.started_at.utcoffset().total_seconds() == 0
        assert view.period_end.tzinfo is not None


def test_a_naive_clock_is_refused(session_factory, catalog, settings) -> None:
    naive = SubscriptionService(session_factory, catalog, settings, {}, datetime.now)
    with pytest.raises(ValueError):
        naive.issue_code(ZHANG, "c")


def test_an_owned_subscription_is_found_only_for_its_holder(service) -> None:
    tencent = next(v for v in service.subscriptions(ZHANG) if v.product_code == "tencent_video")
    assert (
        service.owned_subscription(tencent.id, ZHANG) == tencent == service.subscription(tencent.id)
    )
    assert service.owned_subscription(tencent.id, LI) is None  # another holder's
    assert service.owned_subscription(987_654, ZHANG) is None
    with pytest.raises(InvalidPhone):
        service.owned_subscription(tencent.id, "12345")
    # A cancelled one carries its cancellation, as in the holder's list.
    for view in service.subscriptions(ZHANG):
        assert service.owned_subscription(view.id, ZHANG) == view


def test_the_views_columns_are_read_in_field_order() -> None:
    # Views are made positionally from the rows of subscription_rows().
    names = [column.name for column in queries.subscription_rows().selected_columns]
    assert names == [field.name for field in fields(SubscriptionView)]
    extra = queries.subscription_rows(Subscription.__table__.c.partner_agreement_id)
    assert [column.name for column in extra.selected_columns][-1] == "partner_agreement_id"
