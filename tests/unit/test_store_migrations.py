"""Revision 0002: the plain phones of a store at 0001 are encrypted, and back on downgrade."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.settings import PROJECT_ROOT
from core.store import InvalidPhone, PhoneKeyError, SubscriptionService
from core.store.cipher import PhoneCipher
from core.store.db import downgrade_schema, make_engine, make_session_factory, upgrade_schema

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI = "13800138000", "13900139000"
INDEX_KEY = "a-blind-index-key-for-migration-tests"
START = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
OLD_ROWS = """
INSERT INTO products (id, code, name, provider, aliases)
    VALUES (1, 'tencent_video', '腾讯视频VIP', '腾讯', '[]');
INSERT INTO accounts (id, phone, holder_name, status) VALUES (1, '13800138000', '张三', 'active');
INSERT INTO accounts (id, phone, holder_name, status) VALUES (2, '13900139000', '李四', 'active');
INSERT INTO subscriptions (id, account_id, product_id, plan_name, price, period, billing_channel,
    auto_renew, status, started_at, period_end, next_charge_at)
    VALUES (1, 1, 1, '连续包月', 25, 'month', 'phone_bill', TRUE, 'active',
    '2026-11-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00');
INSERT INTO verification_challenges (id, phone, code_hash, conversation_id, created_at,
    expires_at, attempts) VALUES (1, '13800138000', :hash, 'c1', '2026-11-24 01:59:30',
    '2026-11-24 02:04:00', 1);
INSERT INTO verification_locks (id, phone, locked_until)
    VALUES (1, '13900139000', '2026-11-24 02:10:00');
"""


def _cipher(key: str) -> PhoneCipher:
    return PhoneCipher([key], INDEX_KEY)


def _add_old_rows(engine: Engine, *extra: str) -> None:
    with engine.begin() as connection:
        for statement in filter(str.strip, OLD_ROWS.split(";")):
            connection.execute(text(statement), {"hash": "0" * 64})
        for statement in extra:
            connection.execute(text(statement))


def _revision(engine: Engine) -> str:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _column(engine: Engine, table: str, column: str) -> list:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT {column} FROM {table} ORDER BY id")).scalars().all()


@pytest.fixture
def old_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite store at revision 0001 holding plain phones (with rows that refer to them)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old' / 'store.db'}")
    upgrade_schema(engine, revision="0001")
    _add_old_rows(engine)
    yield engine
    engine.dispose()


def test_upgrade_encrypts_the_plain_phones(old_engine, plain_phones, catalog, settings) -> None:
    assert plain_phones(old_engine, (ZHANG, LI)) != []  # the scan does find plain phones
    cipher = _cipher(Fernet.generate_key().decode())
    upgrade_schema(old_engine, cipher)

    assert _revision(old_engine) == "0006"
    assert plain_phones(old_engine, (ZHANG, LI)) == []
    assert [cipher.decrypt(t) for t in _column(old_engine, "accounts", "phone_ciphertext")] == [
        ZHANG,
        LI,
    ]
    assert _column(old_engine, "accounts", "phone_index") == [cipher.index(ZHANG), cipher.index(LI)]
    assert _column(old_engine, "verification_challenges", "phone_index") == [cipher.index(ZHANG)]
    with old_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    clock = lambda: START  # noqa: E731
    service = SubscriptionService(
        make_session_factory(old_engine), catalog, settings, clock=clock, phone_cipher=cipher
    )
    assert service.account(ZHANG).holder_name == "张三"
    assert [s.product_name for s in service.subscriptions(ZHANG)] == ["腾讯视频VIP"]
    # A number-wide lock of before 0005 blocks no one: lockouts belong to conversations now.
    assert service.issue_code(LI, "c").status == "issued"
    assert service.issue_code(ZHANG, "c1").status == "too_soon"  # the challenge kept its phone


def test_revision_0005_adds_sessions_and_code_sources_and_goes_back(
    old_engine, catalog, settings
) -> None:
    """0004 -> 0005: old codes count as typed numbers without a client; sessions work; the
    downgrade to 0004 drops only what 0005 added."""
    cipher = _cipher(Fernet.generate_key().decode())
    upgrade_schema(old_engine, cipher, revision="0004")
    upgrade_schema(old_engine, cipher)
    assert _column(old_engine, "verification_challenges", "own_line") in ([0], [False])
    assert _column(old_engine, "verification_challenges", "client_key") == [None]
    clock = lambda: START  # noqa: E731
    service = SubscriptionService(
        make_session_factory(old_engine), catalog, settings, clock=clock, phone_cipher=cipher
    )
    issue = service.issue_code(LI, "web:x", client_key="k")
    assert service.check_code(LI, issue.code, "web:x").status == "ok"
    assert service.session_phone("web:x") == LI
    downgrade_schema(old_engine, "0004", cipher)
    assert _revision(old_engine) == "0004"
    with old_engine.connect() as connection:
        tables = {r[0] for r in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
        columns = {
            r[1] for r in connection.exec_driver_sql("PRAGMA table_info(verification_challenges)")
        }
    assert "verified_sessions" not in tables
    assert {"own_line", "client_key"}.isdisjoint(columns)
    assert len(_column(old_engine, "verification_challenges", "id")) == 2


def test_downgrade_restores_the_plain_phones(old_engine) -> None:
    cipher = _cipher(Fernet.generate_key().decode())
    upgrade_schema(old_engine, cipher)
    downgrade_schema(old_engine, "0001", cipher)
    assert _revision(old_engine) == "0001"
    assert _column(old_engine, "accounts", "phone") == [ZHANG, LI]
    assert _column(old_engine, "verification_challenges", "phone") == [ZHANG]
    assert _column(old_engine, "verification_locks", "phone") == [LI]
    with old_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    upgrade_schema(old_engine, cipher)  # and up again
    assert _revision(old_engine) == "0006"


def test_a_malformed_old_phone_stops_the_upgrade_without_quoting_it(old_engine) -> None:
    with old_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, phone, holder_name, status) "
                "VALUES (3, '12-3', 'x', 'active')"
            )
        )
    with pytest.raises(InvalidPhone, match="accounts row 3") as raised:
        upgrade_schema(old_engine, _cipher(Fernet.generate_key().decode()))
    assert "12-3" not in str(raised.value)
    assert _revision(old_engine) == "0001"
    assert _column(old_engine, "accounts", "phone") == [ZHANG, LI, "12-3"]


def test_without_a_cipher_the_upgrade_uses_the_environments_keys(old_engine, monkeypatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("PHONE_ENCRYPTION_KEYS", key)
    monkeypatch.setenv("BLIND_INDEX_KEY", INDEX_KEY)
    monkeypatch.delenv("PHONE_ENCRYPTION_KEY_FILE", raising=False)
    upgrade_schema(old_engine)
    (token, _) = _column(old_engine, "accounts", "phone_ciphertext")
    assert _cipher(key).decrypt(token) == ZHANG


def test_a_missing_key_stops_the_upgrade(old_engine, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PHONE_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("PHONE_ENCRYPTION_KEY_FILE", str(tmp_path / "missing.keys"))
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEY_FILE"):
        upgrade_schema(old_engine)
    assert _revision(old_engine) == "0001"
    assert _column(old_engine, "accounts", "phone") == [ZHANG, LI]


def test_a_downgrade_with_the_wrong_key_changes_nothing(old_engine) -> None:
    cipher = _cipher(Fernet.generate_key().decode())
    upgrade_schema(old_engine, cipher)
    with pytest.raises(PhoneKeyError, match="PHONE_ENCRYPTION_KEYS"):
        downgrade_schema(old_engine, "0001", _cipher(Fernet.generate_key().decode()))
    assert _revision(old_engine) == "0006"


def _alembic(*args: str, url: str, key: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env={
            "STORE_URL": url,
            "PATH": "/usr/bin:/bin",
            "PHONE_ENCRYPTION_KEYS": key,
            "BLIND_INDEX_KEY": INDEX_KEY,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_migrates_a_store_with_rows(tmp_path: Path, plain_phones) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    try:
        upgrade_schema(engine, revision="0001")
        _add_old_rows(engine)
        key = Fernet.generate_key().decode()
        upgraded = _alembic("upgrade", "head", url=url, key=key)
        assert upgraded.returncode == 0, upgraded.stderr
        assert plain_phones(engine, (ZHANG, LI)) == []
        assert _cipher(key).decrypt(_column(engine, "accounts", "phone_ciphertext")[0]) == ZHANG
        downgraded = _alembic("downgrade", "0001", url=url, key=key)
        assert downgraded.returncode == 0, downgraded.stderr
        assert _column(engine, "accounts", "phone") == [ZHANG, LI]
    finally:
        engine.dispose()
