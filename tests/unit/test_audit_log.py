"""The audit log: append-only in the database itself, and a row for every state change.

Each test runs on SQLite and on PostgreSQL (skipped when the server is unreachable, except
on CI, where that is a failure).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.settings import Settings
from core.store import SubscriptionService
from core.store.append_only import REFUSAL, TRIGGER_NAMES
from core.store.context import audit
from core.store.db import downgrade_schema, make_engine, make_session_factory, upgrade_schema
from core.store.models import AuditEvent, metadata
from core.store.retention_policy import RetentionPolicy, run_retention
from core.store.rotate_keys import rotate_phone_keys
from core.store.seed import seed_demo
from tests.unit.store_fixtures import pg_schema

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, WANG = "13800138000", "13900139000", "13700137000"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
ELEVEN_DIGITS = re.compile(r"\d{11}")
# A reference (TD/RF/RG, date, 6 random symbols) may hold 11 digits in a row by chance.
REFERENCE = re.compile(r"(?:TD|RF|RG)\d{8}[0-9A-Z]{6}")


def _pg_schema() -> contextlib.AbstractContextManager[str]:
    return pg_schema("audit_test")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit' / 'store.db'}"
    else:
        with _pg_schema() as url:
            yield url


@pytest.fixture
def audited(db_engine, db_url, catalog, clock, partners) -> SubscriptionService:
    """A service on freshly seeded demo data."""
    settings = replace(Settings(), store_url=db_url)
    service = SubscriptionService(
        make_session_factory(db_engine), catalog, settings, partners, clock
    )
    seed_demo(service, catalog, clock())
    return service


def _audit_rows(engine: Engine) -> list[dict]:
    """Every audit row as the database holds it (raw SQL; detail parsed on SQLite too)."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_events ORDER BY id")).mappings()
        return [
            {**row, "detail": json.loads(row["detail"])}
            if isinstance(row["detail"], str)
            else dict(row)
            for row in rows
        ]


def _add_event(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (at, action, detail) "
                "VALUES ('2026-11-24 02:00:00', 'test_event', '{}')"
            )
        )


def _triggers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'audit_events'::regclass"
            )
        return set(connection.execute(text(query)).scalars())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'rewritten'",
        "UPDATE audit_events SET phone_masked = NULL WHERE action = 'test_event'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE action = 'test_event'",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(db_engine, statement) -> None:
    _add_event(db_engine)
    before = _audit_rows(db_engine)
    with pytest.raises(DBAPIError, match=REFUSAL), db_engine.begin() as connection:
        connection.execute(text(statement))
    assert _audit_rows(db_engine) == before
    _add_event(db_engine)  # appending still works
    assert len(_audit_rows(db_engine)) == len(before) + 1


def test_the_orm_cannot_delete_audit_rows_either(db_engine) -> None:
    _add_event(db_engine)
    factory = make_session_factory(db_engine)
    with pytest.raises(DBAPIError, match=REFUSAL), factory.begin() as session:
        session.delete(session.execute(select(AuditEvent)).scalar_one())
    with pytest.raises(DBAPIError, match=REFUSAL), factory.begin() as session:
        session.execute(select(AuditEvent)).scalar_one().action = "edited"
    assert [row["action"] for row in _audit_rows(db_engine)] == ["test_event"]


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgres_refuses_truncate(db_engine) -> None:
    _add_event(db_engine)
    with pytest.raises(DBAPIError, match=REFUSAL), db_engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_events"))
    assert len(_audit_rows(db_engine)) == 1


def test_migrations_and_create_all_both_install_the_triggers(db_engine, db_url) -> None:
    dialect = db_engine.dialect.name
    assert _triggers(db_engine) == TRIGGER_NAMES[dialect]
    downgrade_schema(db_engine, "0002")
    assert _triggers(db_engine) == set()
    _add_event(db_engine)
    with db_engine.begin() as connection:  # without the triggers, rows could be deleted
        connection.execute(text("DELETE FROM audit_events"))
    upgrade_schema(db_engine)
    assert _triggers(db_engine) == TRIGGER_NAMES[dialect]

    # A schema built from the models, not by Alembic, ends with the same triggers.
    with db_engine.begin() as connection:
        metadata.drop_all(connection)
    metadata.create_all(db_engine)
    assert _triggers(db_engine) == TRIGGER_NAMES[dialect]
    _add_event(db_engine)
    with pytest.raises(DBAPIError, match=REFUSAL), db_engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))


def _eleven_digits(row: dict) -> bool:
    # json.dumps, not str(): repr() escapes rare characters as "\U00108960", whose hex digits
    # would run into the masked number that follows them.
    return any(
        ELEVEN_DIGITS.search(REFERENCE.sub("", json.dumps(value, ensure_ascii=False, default=str)))
        for value in row.values()
    )


def test_the_leak_check_finds_a_number(audited: SubscriptionService, db_engine) -> None:
    with audited.session_factory.begin() as session:
        session.add(AuditEvent(at=audited.now(), action="x", detail={"raw": 13800138000}))
    assert [row["action"] for row in _audit_rows(db_engine) if _eleven_digits(row)] == ["x"]
    assert not _eleven_digits({"reference": "TD20261124123456"})


def _events(engine: Engine, action: str) -> list[dict]:
    return [row for row in _audit_rows(engine) if row["action"] == action]


def _one(engine: Engine, action: str) -> dict:
    (row,) = _events(engine, action)
    return row


def test_every_state_change_is_on_record_with_who_channel_and_a_masked_phone(
    audited: SubscriptionService, db_engine, partners, clock, settings
) -> None:
    service = audited
    # Verification: a code issued and sent, a wrong one, then the right one.
    issue = service.issue_code(ZHANG, "conv-zhang", channel="rest")
    service.record_sms(ZHANG, "verification", "sent", conversation_id="conv-zhang", channel="rest")
    wrong = f"{(int(issue.code) + 1) % 1_000_000:06d}"
    assert service.check_code(ZHANG, wrong, "conv-zhang", channel="rest").status == "wrong"
    assert service.check_code(ZHANG, issue.code, "conv-zhang", channel="rest").status == "ok"
    # A lockout, asked for by a conversation whose id is the caller's number (IVR, SMS).
    li_code = service.issue_code(LI, LI, channel="ivr").code
    li_wrong = f"{(int(li_code) + 1) % 1_000_000:06d}"
    while service.check_code(LI, li_wrong, LI, channel="ivr").status != "locked":
        pass
    assert service.issue_code(LI, LI, channel="ivr").status == "locked"
    # Cancellations: done, failed at the partner, only possible on the phone, not found.
    tencent = next(v.id for v in service.subscriptions(ZHANG) if v.product_name == "腾讯视频VIP")
    done = service.cancel(
        tencent, phone=ZHANG, channel="rest", conversation_id="conv-zhang", idempotency_key="k1"
    )
    assert done.status == "cancelled"
    service.record_reason(done.reference, f"换号了，新号 {WANG}")
    partners["alipay"].mode = "fail"
    iqiyi = next(v.id for v in service.subscriptions(LI) if v.product_name == "爱奇艺黄金VIP")
    failed = service.cancel(
        iqiyi, phone=LI, channel="voice", conversation_id="conv-li", idempotency_key="k2"
    )
    assert failed.status == "partner_failed"
    apple = next(v.id for v in service.subscriptions(LI) if v.billing_channel == "app_store")
    on_phone = service.cancel(
        apple, phone=LI, channel="voice", conversation_id="conv-li", idempotency_key="k3"
    )
    assert on_phone.status == "app_store"
    assert (
        service.cancel(
            tencent, phone=LI, channel="voice", conversation_id="conv-li", idempotency_key="k4"
        ).status
        == "not_found"
    )
    # A refund case, a handoff with its SMS, a failed receipt SMS.
    (charge,) = (c for c in service.review_charges(ZHANG) if c.after_cancellation)
    service.open_refund_case(
        charge.charge_id, phone=ZHANG, conversation_id="conv-zhang", reason="", channel="rest"
    )
    service.open_handoff(
        conversation_id="conv-zhang", channel="rest", phone=ZHANG, summary=f"用户 {ZHANG} 要人工"
    )
    service.record_sms(ZHANG, "receipt", "failed", error=f"gateway refused {ZHANG}")
    # Operator runs: key rotation and retention.
    rotate_phone_keys(service.session_factory, service.phone_cipher)
    run_retention(service.session_factory, RetentionPolicy.from_settings(settings), clock())

    engine = db_engine
    issued = [(e["conversation_id"], e["channel"]) for e in _events(engine, "code_issued")]
    assert issued == [("conv-zhang", "rest"), ("139****9000", "ivr")]
    sms = _events(engine, "sms_sent")[0]
    assert (sms["conversation_id"], sms["detail"]) == ("conv-zhang", {"kind": "verification"})
    assert _events(engine, "code_wrong")[0]["detail"] == {
        "status": "wrong",
        "remaining_attempts": settings.max_code_attempts - 1,
    }
    verified = _one(engine, "code_verified")
    assert (verified["conversation_id"], verified["channel"]) == ("conv-zhang", "rest")
    assert len(_events(engine, "code_wrong")) == 1 + settings.max_code_attempts - 1
    locked = _one(engine, "verification_locked")
    assert (locked["conversation_id"], locked["channel"]) == ("139****9000", "ivr")
    assert locked["phone_masked"] == "139****9000"
    assert _one(engine, "code_locked")["detail"]["status"] == "locked"
    assert _one(engine, "code_refused")["detail"] == {"status": "locked"}

    answers = [e["detail"]["answer"] for e in _events(engine, "cancellation_requested")]
    assert answers == ["proceeding", "proceeding", "app_store", "not_found"]
    cancelled = _one(engine, "subscription_cancelled")
    assert cancelled["detail"]["reference"] == done.reference
    assert (cancelled["channel"], cancelled["phone_masked"]) == ("rest", "138****8000")
    partner = _one(engine, "partner_failed")
    assert (partner["conversation_id"], partner["channel"]) == ("conv-li", "voice")
    reason = _one(engine, "cancellation_reason_recorded")
    assert reason["detail"] == {"reference": done.reference, "given": True}
    assert _one(engine, "refund_case_opened")["channel"] == "rest"
    assert _one(engine, "handoff_opened")["phone_masked"] == "138****8000"
    assert _one(engine, "sms_failed")["detail"] == {"kind": "receipt"}
    rotated = _one(engine, "phone_keys_rotated")
    assert rotated["channel"] == "cli" and rotated["detail"]["accounts"]["rows"] == 4
    assert _one(engine, "retention_run")["detail"]["counts"]["verification_challenges"] == 0

    rows = _audit_rows(engine)
    assert all(row["at"] is not None and row["action"] for row in rows)
    # No full number anywhere in the log, in any column, however it got there.
    assert [row for row in rows if _eleven_digits(row)] == []
    assert {row["phone_masked"] for row in rows} <= {None, "138****8000", "139****9000"}


def test_seeding_again_keeps_the_audit_log(audited: SubscriptionService, db_engine, catalog, clock):
    audited.issue_code(ZHANG, "c")
    before = _audit_rows(db_engine)
    assert [row["action"] for row in before] == ["code_issued"]
    seed_demo(audited, catalog, clock() + timedelta(days=1))
    assert _audit_rows(db_engine) == before


_PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
_SEPARATED = st.tuples(_PHONES, st.sampled_from(["", " ", "-"])).map(
    lambda pair: pair[1].join((pair[0][:3], pair[0][3:7], pair[0][7:]))
)
_AROUND = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=20)


@hypothesis_settings(max_examples=60, deadline=None)
@given(before=_AROUND, phone=_SEPARATED, after=_AROUND, channel_id=st.booleans())
def test_no_number_reaches_the_log_however_it_is_written(
    before: str, phone: str, after: str, channel_id: bool
) -> None:
    engine = _memory_engine()
    text_with_phone = f"{before}{phone}{after}"
    with make_session_factory(engine).begin() as session:
        audit(
            session,
            at=NOW,
            action="property",
            conversation_id=text_with_phone[:128] if channel_id else "c",
            phone=phone.replace(" ", "").replace("-", ""),
            detail={"note": text_with_phone},
        )
    row = _audit_rows(engine)[-1]
    digits = phone.replace(" ", "").replace("-", "")
    assert row["phone_masked"] == f"{digits[:3]}****{digits[-4:]}"
    assert not _eleven_digits(row)
    assert all(
        digits not in re.sub(r"\D", "", json.dumps(value, ensure_ascii=False, default=str))
        for value in row.values()
    )


_ENGINES: list[Engine] = []


def _memory_engine() -> Engine:
    """One in-memory store at head for the whole property test (made on first use)."""
    if not _ENGINES:
        engine = make_engine("sqlite://")
        upgrade_schema(engine)
        _ENGINES.append(engine)
    return _ENGINES[0]
