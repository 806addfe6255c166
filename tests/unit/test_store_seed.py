"""The demo data (core/store/seed.py) against the contract's table."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from core.references import is_valid_reference
from core.settings import PROJECT_ROOT
from core.store.models import Charge, HandoffTicket, Product, Subscription
from core.store.seed import seed_demo, shift_months

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
DAY = timedelta(days=1)


def _by_name(service, phone):
    return {view.product_name: view for view in service.subscriptions(phone)}


def test_every_catalog_product_is_loaded(service, session_factory, catalog) -> None:
    with session_factory.begin() as session:
        products = session.execute(select(Product)).scalars().all()
        loaded = {(p.code, p.name, p.provider, tuple(p.aliases)) for p in products}
    assert loaded == {(p.code, p.name, p.provider, p.aliases) for p in catalog.products}


def test_the_four_demo_accounts(service) -> None:
    holders = {phone: service.account(phone) for phone in (ZHANG, LI, WANG, ZHAO)}
    assert {p: (a.holder_name, a.status) for p, a in holders.items()} == {
        ZHANG: ("张三", "active"),
        LI: ("李四", "active"),
        WANG: ("王五", "active"),
        ZHAO: ("赵六", "arrears"),
    }
    assert service.subscriptions(WANG) == []


def test_zhang_san(service, clock) -> None:
    now = clock()
    subs = _by_name(service, ZHANG)
    assert set(subs) == {"腾讯视频VIP", "QQ音乐绿钻", "咪咕视频钻石会员"}
    tencent, qq, migu = subs["腾讯视频VIP"], subs["QQ音乐绿钻"], subs["咪咕视频钻石会员"]
    assert (tencent.plan_name, tencent.price, tencent.period) == (
        "连续包月",
        Decimal("25.00"),
        "month",
    )
    assert (qq.plan_name, qq.price) == ("连续包月", Decimal("15.00"))
    for sub, days in ((tencent, 10), (qq, 3)):
        assert sub.billing_channel == "phone_bill" and sub.auto_renew and sub.status == "active"
        assert sub.next_charge_at == sub.period_end == now + days * DAY
    assert migu.status == "cancelled" and not migu.auto_renew and migu.next_charge_at is None
    assert migu.billing_channel == "phone_bill" and migu.price == Decimal("20.00")
    assert migu.cancelled_at == now - 20 * DAY and migu.period_end == now - 5 * DAY
    assert is_valid_reference(migu.reference) and migu.reference.startswith("TD20261104")
    cancellation = service.cancellation(migu.reference)
    assert (cancellation.channel, cancellation.phone) == ("app", ZHANG)


def test_zhang_san_has_monthly_charges_and_one_after_cancelling(service, clock) -> None:
    now = clock()
    charges = service.review_charges(ZHANG, days=400)
    tencent = [c.charged_at for c in charges if c.product_name == "腾讯视频VIP"]
    assert tencent and all(at < now for at in tencent)
    assert sorted(tencent) == [shift_months(now + 10 * DAY, -k) for k in range(6, 0, -1)]
    wrong = [c for c in charges if c.after_cancellation]
    assert len(wrong) == 1
    assert (wrong[0].product_name, wrong[0].amount) == ("咪咕视频钻石会员", Decimal("20.00"))
    assert wrong[0].charged_at == now - 2 * DAY


def test_li_si(service, clock, session_factory) -> None:
    now = clock()
    subs = _by_name(service, LI)
    iqiyi, baidu = subs["爱奇艺黄金VIP"], subs["百度网盘超级会员"]
    assert (iqiyi.plan_name, iqiyi.price, iqiyi.period) == ("连续包季", Decimal("58.00"), "quarter")
    assert iqiyi.billing_channel == "alipay" and iqiyi.next_charge_at == now + 40 * DAY
    assert (baidu.plan_name, baidu.price, baidu.period) == ("连续包年", Decimal("248.00"), "year")
    assert baidu.billing_channel == "app_store" and baidu.next_charge_at == now + 200 * DAY
    assert iqiyi.auto_renew and baidu.auto_renew
    with session_factory.begin() as session:
        agreement = session.execute(
            select(Subscription.partner_agreement_id).where(Subscription.id == iqiyi.id)
        ).scalar_one()
    assert agreement


def test_zhao_liu_in_arrears_was_charged_yesterday(service, clock) -> None:
    now = clock()
    (vinyl,) = service.subscriptions(ZHAO)
    assert (vinyl.product_name, vinyl.plan_name, vinyl.price) == (
        "网易云音乐黑胶VIP",
        "连续包月",
        Decimal("15.00"),
    )
    assert vinyl.billing_channel == "phone_bill" and vinyl.auto_renew
    assert vinyl.next_charge_at == now + 29 * DAY
    (charge,) = service.review_charges(ZHAO)
    assert charge.charged_at == now - DAY and charge.amount == Decimal("15.00")


def test_reseeding_wipes_first(service, session_factory, catalog, clock) -> None:
    service.open_handoff(conversation_id="c", channel="web", phone=ZHANG, summary="help")
    summary = seed_demo(service, catalog, clock())
    assert summary.subscriptions == 6 and summary.accounts == 4 and summary.cancellations == 1
    with session_factory.begin() as session:
        assert session.execute(select(func.count()).select_from(Charge)).scalar_one() == (
            summary.charges
        )
        assert session.execute(select(func.count()).select_from(HandoffTicket)).scalar_one() == 0


def _run_seed(*args: str, env_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.store.seed", *args],
        cwd=PROJECT_ROOT,
        env={"STORE_URL": env_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_seeds_the_url_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli' / 'demo.db'}"
    result = _run_seed("--url", url, env_url="sqlite:///" + str(tmp_path / "unused.db"))
    assert result.returncode == 0, result.stderr
    assert "4 accounts" in result.stdout and "6 subscriptions" in result.stdout
    assert (tmp_path / "cli" / "demo.db").exists()
    assert not (tmp_path / "unused.db").exists()


def test_cli_uses_store_url_by_default(tmp_path: Path) -> None:
    result = _run_seed(env_url=f"sqlite:///{tmp_path / 'env.db'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()


def test_cli_refuses_postgres_without_force(tmp_path: Path) -> None:
    result = _run_seed(env_url="postgresql://postgres@127.0.0.1:5432/production")
    assert result.returncode == 2
    assert "--force" in result.stderr and "PostgreSQL" in result.stderr
    result = _run_seed("--url", "postgresql://postgres@127.0.0.1:5432/x", env_url="sqlite://")
    assert result.returncode == 2


def test_cli_refuses_a_malformed_url() -> None:
    result = _run_seed("--url", "not a url", env_url="sqlite://")
    assert result.returncode == 2 and "not a database URL" in result.stderr
