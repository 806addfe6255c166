"""The store's key rules on the real PostgreSQL server (schema, constraints, idempotency).

Skipped when the server is unreachable, except on CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.references import is_valid_reference
from core.settings import Settings
from core.store import SubscriptionService
from core.store.cipher import PhoneCipher
from core.store.db import downgrade_schema, make_engine, make_session_factory, upgrade_schema
from core.store.models import Cancellation, Subscription, metadata
from core.store.seed import seed_demo
from tests.unit.store_fixtures import pg_schema, pg_unreachable

pytest_plugins = ["tests.unit.store_fixtures"]
pytestmark = pytest.mark.postgres

START = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
ZHANG, LI = "13800138000", "13900139000"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the module's tests."""
    with pg_schema("store_test") as url:
        yield url


@pytest.fixture(scope="module")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on the fresh schema, upgraded to head by Alembic."""
    engine = make_engine(pg_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_service(pg_engine: Engine, pg_url: str, catalog, clock, partners) -> SubscriptionService:
    """A service on freshly seeded demo data in PostgreSQL."""
    factory = make_session_factory(pg_engine)
    settings = replace(Settings(), store_url=pg_url)
    service = SubscriptionService(factory, catalog, settings, partners, clock)
    seed_demo(service, catalog, clock())
    return service


def _sub_id(service: SubscriptionService, phone: str, name: str) -> int:
    return next(v.id for v in service.subscriptions(phone) if v.product_name == name)


def _count_cancellations(service: SubscriptionService, sub_id: int) -> int:
    with service.session_factory.begin() as session:
        return session.execute(
            select(func.count())
            .select_from(Cancellation)
            .where(Cancellation.subscription_id == sub_id)
        ).scalar_one()


def test_alembic_builds_the_models_schema(pg_engine: Engine) -> None:
    assert "cancellations" in inspect(pg_engine).get_table_names()
    upgrade_schema(pg_engine)  # a second upgrade is a no-op
    with pg_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0006"
        assert compare_metadata(context, metadata) == []


def test_the_schema_rejects_a_second_cancellation(pg_service: SubscriptionService) -> None:
    migu = _sub_id(pg_service, ZHANG, "咪咕视频钻石会员")
    with pytest.raises(IntegrityError), pg_service.session_factory.begin() as session:
        session.add(
            Cancellation(
                reference="TD20261124K7M2Q5",
                subscription_id=migu,
                idempotency_key="direct",
                channel="web",
                conversation_id="c",
                requested_at=START,
                effective_until=START,
            )
        )
    assert _count_cancellations(pg_service, migu) == 1


def test_check_constraints_hold(pg_service: SubscriptionService) -> None:
    tencent = _sub_id(pg_service, ZHANG, "腾讯视频VIP")
    for column, value in (("price", Decimal("0")), ("billing_channel", "cash"), ("period", "day")):
        with pytest.raises(IntegrityError), pg_service.session_factory.begin() as session:
            session.get(Subscription, tencent).__setattr__(column, value)


def test_money_and_time_round_trip(pg_service: SubscriptionService, clock) -> None:
    tencent = next(v for v in pg_service.subscriptions(ZHANG) if v.product_code == "tencent_video")
    assert tencent.price == Decimal("25.00") and isinstance(tencent.price, Decimal)
    assert tencent.next_charge_at == clock() + timedelta(days=10)
    assert tencent.next_charge_at.tzinfo is not None


def test_cancel_is_idempotent(pg_service: SubscriptionService) -> None:
    sub_id = _sub_id(pg_service, ZHANG, "腾讯视频VIP")
    kwargs = dict(phone=ZHANG, channel="web", conversation_id="c", idempotency_key="k")
    first = pg_service.cancel(sub_id, **kwargs)
    second = pg_service.cancel(sub_id, **kwargs)
    other = pg_service.cancel(sub_id, **{**kwargs, "idempotency_key": "k2"})
    assert first.status == "cancelled" and is_valid_reference(first.reference)
    assert (second.status, second.reference) == ("cancelled", first.reference)
    assert (other.status, other.reference) == ("already_cancelled", first.reference)
    assert (first.repeat, second.repeat, other.repeat) == (False, True, False)
    assert _count_cancellations(pg_service, sub_id) == 1


@pytest.mark.parametrize("same_key", [True, False])
def test_concurrent_cancels_make_exactly_one_row(
    pg_service: SubscriptionService, same_key: bool
) -> None:
    sub_id = _sub_id(pg_service, ZHANG, "QQ音乐绿钻")
    workers = 8
    barrier = threading.Barrier(workers)
    outcomes = []

    def cancel(n: int) -> None:
        barrier.wait()
        # An exception ends the thread without an outcome; the length check below sees it.
        outcomes.append(
            pg_service.cancel(
                sub_id,
                phone=ZHANG,
                channel="web",
                conversation_id=f"c{n}",
                idempotency_key="same" if same_key else f"key-{n}",
            )
        )

    threads = [threading.Thread(target=cancel, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({o.reference for o in outcomes}) == 1 and len(outcomes) == workers
    assert _count_cancellations(pg_service, sub_id) == 1
    if not same_key:
        assert sum(o.status == "cancelled" for o in outcomes) == 1
    # Exactly one of the racing requests did it (and would send the receipt).
    assert sum(o.status == "cancelled" and not o.repeat for o in outcomes) == 1


def test_concurrent_partner_cancels_make_one_row(pg_service: SubscriptionService, partners):
    sub_id = _sub_id(pg_service, LI, "爱奇艺黄金VIP")
    barrier = threading.Barrier(4)
    outcomes = []

    def cancel() -> None:
        barrier.wait()
        outcomes.append(
            pg_service.cancel(
                sub_id, phone=LI, channel="voice", conversation_id="c", idempotency_key="ali"
            )
        )

    threads = [threading.Thread(target=cancel) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({o.reference for o in outcomes}) == 1
    assert _count_cancellations(pg_service, sub_id) == 1
    assert {call["idempotency_key"] for call in partners["alipay"].calls} == {"ali"}


def test_refund_case_is_idempotent(pg_service: SubscriptionService) -> None:
    (charge,) = (c for c in pg_service.review_charges(ZHANG) if c.after_cancellation)
    first = pg_service.open_refund_case(
        charge.charge_id, phone=ZHANG, conversation_id="c", reason=""
    )
    again = pg_service.open_refund_case(
        charge.charge_id, phone=ZHANG, conversation_id="c", reason=""
    )
    assert first.created and not again.created and first.reference == again.reference


def test_verification_lockout(pg_service: SubscriptionService, clock) -> None:
    issue = pg_service.issue_code(ZHANG, "c")
    wrong = f"{(int(issue.code) + 1) % 1_000_000:06d}"
    statuses = [pg_service.check_code(ZHANG, wrong, "c").status for _ in range(5)]
    assert statuses == ["wrong"] * 4 + ["locked"]
    assert pg_service.issue_code(ZHANG, "c").status == "locked"
    # The lockout is this conversation's: the holder verifies in their own at once.
    mine = pg_service.issue_code(ZHANG, "web:holder")
    assert pg_service.check_code(ZHANG, mine.code, "web:holder").status == "ok"
    assert pg_service.session_phone("web:holder") == ZHANG
    clock.advance(seconds=900)
    fresh = pg_service.issue_code(ZHANG, "c")
    assert pg_service.check_code(ZHANG, fresh.code, "c").status == "ok"


def test_verified_sessions_expire_and_end(pg_service: SubscriptionService, clock) -> None:
    issue = pg_service.issue_code(ZHANG, "ivr:call")
    assert pg_service.check_code(ZHANG, issue.code, "ivr:call").status == "ok"
    assert pg_service.session_phone("ivr:call") == ZHANG
    clock.advance(seconds=pg_service.settings.verified_idle_seconds + 1)
    assert pg_service.session_phone("ivr:call") is None
    again = pg_service.issue_code(ZHANG, "ivr:call", own_line=True)
    assert pg_service.check_code(ZHANG, again.code, "ivr:call").status == "ok"
    assert pg_service.end_session("ivr:call", "restart")
    assert pg_service.session_phone("ivr:call") is None


def test_no_phone_is_stored_in_the_clear(
    pg_service: SubscriptionService, pg_engine: Engine, plain_phones
) -> None:
    issue = pg_service.issue_code(ZHANG, "c")
    assert pg_service.check_code(ZHANG, issue.code, "c").status == "ok"
    sub_id = _sub_id(pg_service, ZHANG, "腾讯视频VIP")
    outcome = pg_service.cancel(
        sub_id, phone=ZHANG, channel="web", conversation_id="c", idempotency_key="leak"
    )
    pg_service.record_reason(outcome.reference, "新号 139 0013 9000")
    assert plain_phones(pg_engine, (ZHANG, LI)) == []
    assert pg_service.account(ZHANG).phone == ZHANG


def test_migration_0002_encrypts_plain_phones_and_downgrade_restores_them(plain_phones) -> None:
    cipher = PhoneCipher([Fernet.generate_key().decode()], "a-blind-index-key-for-pg-tests")
    with pg_schema("store_test") as url:
        engine = make_engine(url)
        try:
            upgrade_schema(engine, revision="0001")
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO accounts (id, phone, holder_name, status) VALUES "
                        "(1, :zhang, '张三', 'active'), (2, :li, '李四', 'active')"
                    ),
                    {"zhang": ZHANG, "li": LI},
                )
                connection.execute(
                    text("INSERT INTO verification_locks (phone, locked_until) VALUES (:li, :at)"),
                    {"li": LI, "at": START.replace(tzinfo=None)},
                )
            upgrade_schema(engine, cipher)
            assert plain_phones(engine, (ZHANG, LI)) == []
            checks = {c["name"] for c in inspect(engine).get_check_constraints("accounts")}
            assert {"ck_accounts_phone_encrypted", "ck_accounts_phone_indexed"} <= checks
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT phone_ciphertext, phone_index FROM accounts ORDER BY id")
                ).all()
            assert [(cipher.decrypt(t), i) for t, i in rows] == [
                (ZHANG, cipher.index(ZHANG)),
                (LI, cipher.index(LI)),
            ]
            downgrade_schema(engine, "0001", cipher)
            with engine.connect() as connection:
                phones = connection.execute(text("SELECT phone FROM accounts ORDER BY id"))
                assert phones.scalars().all() == [ZHANG, LI]
                locked = connection.execute(text("SELECT phone FROM verification_locks"))
                assert locked.scalars().all() == [LI]
        finally:
            engine.dispose()


def test_an_unreachable_server_skips_locally_and_fails_on_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unreachable"):
        pg_unreachable("connection refused")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unreachable"):
        pg_unreachable("connection refused")
