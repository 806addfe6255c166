"""Reading accounts and memberships (queries.py, services.py)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import datetime

import pytest

from actions.store import AccountView, InvalidPhone, SubscriptionService, SubscriptionView

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
