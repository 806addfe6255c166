"""The schema: Alembic migrations, constraints, column types, engines (core/store/db.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import ContextManager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from core.settings import PROJECT_ROOT, Settings
from core.store import StoreUnavailable, build_service
from core.store.db import (
    MigratingSessionFactory,
    connection_unit_of_work,
    make_engine,
    make_session_factory,
    unit_of_work,
    upgrade_schema,
)
from core.store.models import (
    Account,
    Cancellation,
    Charge,
    SmsMessage,
    Subscription,
    VerificationLock,
    metadata,
)
from core.store.privacy import phone_index, stored_phone

pytest_plugins = ["tests.unit.store_fixtures"]

START = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
ZHANG = "13800138000"  # the contract's demo holder 张三
HEAD = "0006"
SMS_ROW = "INSERT INTO sms_messages VALUES (1, 'x', 'other', 'sent', NULL, '2026-01-01')"

TABLES = {
    "accounts",
    "products",
    "subscriptions",
    "charges",
    "cancellations",
    "verification_challenges",
    "verification_locks",
    "verified_sessions",
    "conversation_phones",
    "refund_cases",
    "handoff_tickets",
    "sms_messages",
    "audit_events",
}


def test_migration_creates_exactly_the_models_schema(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        assert MigrationContext.configure(connection).get_current_revision() == HEAD


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade_schema(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD


def _alembic(*args: str, url: str) -> subprocess.CompletedProcess:
    # A separate process: the command line configures logging from alembic.ini.
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env={"STORE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_alembic_command_line_takes_store_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli' / 'store.db'}"
    upgraded = _alembic("upgrade", "head", url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()
    downgraded = _alembic("downgrade", "base", url=url)
    assert downgraded.returncode == 0, downgraded.stderr
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_make_engine_creates_the_sqlite_folder_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'store.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (tmp_path / "a" / "b").is_dir()
    finally:
        engine.dispose()


def test_a_sqlite_file_connection_is_reused_across_transactions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    opened = []
    event.listen(engine, "connect", lambda dbapi_connection, _record: opened.append(1))
    try:
        for _ in range(5):
            with unit_of_work(make_session_factory(engine)) as session:
                assert session.execute(text("SELECT 1")).scalar() == 1
        assert len(opened) == 1
        # Reused connections keep the per-connection settings.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_sqlite_file_writes_ahead_and_syncs_every_commit(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade_schema(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        # A second process sees committed rows while the first holds its connection open.
        other = make_engine(f"sqlite:///{path}")
        try:
            assert "accounts" in inspect(other).get_table_names()
        finally:
            other.dispose()
    finally:
        engine.dispose()


def test_in_memory_sqlite_keeps_one_database() -> None:
    engine = make_engine("sqlite://")
    upgrade_schema(engine)
    assert "accounts" in inspect(engine).get_table_names()
    engine.dispose()


def test_build_service_upgrades_the_schema_on_first_use(settings: Settings, tmp_path: Path) -> None:
    service = build_service(settings)
    database = Path(settings.store_url.removeprefix("sqlite:///"))
    assert not database.exists()  # nothing happens before the first call
    assert service.account(ZHANG) is None
    assert service.subscriptions(ZHANG) == []
    assert database.exists()


def test_a_second_cancellation_of_one_subscription_is_rejected_by_the_schema(
    service, session_factory: sessionmaker, subscription_of
) -> None:
    migu = subscription_of(ZHANG, "咪咕视频钻石会员")
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            Cancellation(
                reference="TD20261124K7M2Q5",
                subscription_id=migu,
                idempotency_key="direct-insert",
                channel="web",
                conversation_id="c1",
                requested_at=START,
                effective_until=START,
            )
        )
    with session_factory.begin() as session:
        rows = session.execute(select(Cancellation).where(Cancellation.subscription_id == migu))
        assert len(rows.all()) == 1


def _insert(session_factory: sessionmaker, row: object) -> None:
    with session_factory.begin() as session:
        session.add(row)


def _subscription(account_id: int, **overrides: object) -> Subscription:
    values = dict(
        account_id=account_id,
        product_id=1,
        plan_name="连续包月",
        price=Decimal("25.00"),
        period="month",
        billing_channel="phone_bill",
        auto_renew=True,
        status="active",
        started_at=START,
        period_end=START + timedelta(days=30),
        next_charge_at=START + timedelta(days=30),
    )
    values.update(overrides)
    return Subscription(**values)


def _zhang_id(service, session_factory: sessionmaker) -> int:
    with session_factory.begin() as session:
        return session.execute(
            select(Account.id).where(
                Account.phone_index == phone_index(service.phone_cipher, ZHANG)
            )
        ).scalar_one()


def _account(service, phone: str, **values: object) -> Account:
    return Account(**stored_phone(service.phone_cipher, phone).columns(), **values)


def _lock(service, phone: str, locked_until: datetime) -> VerificationLock:
    return VerificationLock(
        **stored_phone(service.phone_cipher, phone).columns(), locked_until=locked_until
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"price": Decimal("0")},
        {"price": Decimal("-1.00")},
        {"period": "week"},
        {"billing_channel": "cash"},
        {"status": "paused"},
        {"billing_channel": "alipay", "partner_agreement_id": None},
        {"product_id": 9999},
    ],
)
def test_subscription_constraints(service, session_factory: sessionmaker, overrides: dict) -> None:
    with pytest.raises(IntegrityError):
        _insert(session_factory, _subscription(_zhang_id(service, session_factory), **overrides))


def test_account_constraints(service, session_factory: sessionmaker) -> None:
    with pytest.raises(IntegrityError):
        _insert(session_factory, _account(service, "13100131000", holder_name="x", status="closed"))
    with pytest.raises(IntegrityError):
        _insert(session_factory, _account(service, ZHANG, holder_name="twin", status="active"))


def test_charge_sms_and_lock_constraints(service, session_factory: sessionmaker) -> None:
    with pytest.raises(IntegrityError):
        _insert(
            session_factory,
            Charge(subscription_id=1, amount=Decimal("-5"), charged_at=START, status="settled"),
        )
    with pytest.raises(IntegrityError):
        _insert(
            session_factory,
            SmsMessage(phone_masked="138****8000", kind="spam", status="sent", created_at=START),
        )
    _insert(session_factory, _lock(service, ZHANG, START))
    with pytest.raises(IntegrityError):
        _insert(session_factory, _lock(service, ZHANG, START))


def test_timestamps_are_stored_as_utc_and_come_back_aware(
    service, session_factory: sessionmaker
) -> None:
    shanghai_noon = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    _insert(session_factory, _lock(service, "13100131000", shanghai_noon))
    index = phone_index(service.phone_cipher, "13100131000")
    with session_factory.begin() as session:
        stored = session.execute(
            text("SELECT locked_until FROM verification_locks WHERE phone_index = :index"),
            {"index": index},
        ).scalar_one()
        loaded = session.execute(
            select(VerificationLock.locked_until).where(VerificationLock.phone_index == index)
        ).scalar_one()
    assert stored.startswith("2026-11-24 04:00:00")
    assert loaded == shanghai_noon and loaded.tzinfo == timezone.utc


def test_naive_datetimes_are_refused(service, session_factory: sessionmaker) -> None:
    with pytest.raises(StatementError, match="naive"):
        _insert(session_factory, _lock(service, "13100131000", datetime.now()))


def test_money_is_decimal_and_floats_are_refused(service, session_factory: sessionmaker) -> None:
    with session_factory.begin() as session:
        prices = session.execute(select(Subscription.price)).scalars().all()
    assert prices and all(
        isinstance(p, Decimal) and p == p.quantize(Decimal("0.01")) for p in prices
    )
    with pytest.raises(StatementError, match="Decimal"):
        _insert(session_factory, _subscription(_zhang_id(service, session_factory), price=25.0))


def test_an_unreachable_database_is_store_unavailable(settings: Settings, tmp_path: Path) -> None:
    # A folder cannot be opened as a SQLite file: the driver's connection fails.
    (tmp_path / "folder.db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'folder.db'}")
    with pytest.raises(StoreUnavailable), unit_of_work(make_session_factory(broken)) as session:
        session.execute(text("SELECT 1"))
    service = build_service(replace(settings, store_url=f"sqlite:///{tmp_path / 'folder.db'}"))
    with pytest.raises(StoreUnavailable):
        service.account(ZHANG)


def test_a_refused_postgres_connection_is_store_unavailable() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(StoreUnavailable):
        upgrade_schema(engine)


def test_integrity_errors_are_not_disguised_as_outages(service, session_factory) -> None:
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(_account(service, ZHANG, holder_name="twin", status="active"))


def test_a_core_unit_of_work_runs_on_a_plain_connection_and_commits(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        migrating = MigratingSessionFactory(engine)
        with connection_unit_of_work(migrating) as executor:  # upgrades the schema first
            assert isinstance(executor, Connection)
            executor.execute(text(SMS_ROW))
        with connection_unit_of_work(make_session_factory(engine)) as executor:
            assert isinstance(executor, Connection)
            assert executor.execute(text("SELECT count(*) FROM sms_messages")).scalar() == 1
    finally:
        engine.dispose()


def test_a_core_unit_of_work_rolls_back_on_error_and_reports_outages(
    engine: Engine, tmp_path: Path
) -> None:
    with (
        pytest.raises(ZeroDivisionError),
        connection_unit_of_work(make_session_factory(engine)) as executor,
    ):
        executor.execute(text(SMS_ROW))
        raise ZeroDivisionError
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sms_messages")).scalar() == 0
    (tmp_path / "folder.db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'folder.db'}")
    with pytest.raises(StoreUnavailable), connection_unit_of_work(make_session_factory(broken)):
        pass


def test_a_core_unit_of_work_falls_back_to_a_session(engine: Engine) -> None:
    class Factory:
        """A factory whose engine is unknown: it only opens sessions."""

        def begin(self) -> ContextManager[Session]:
            return make_session_factory(engine).begin()

    with connection_unit_of_work(Factory()) as executor:
        assert isinstance(executor, Session)
        assert executor.execute(text("SELECT 1")).scalar() == 1
