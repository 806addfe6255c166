"""个人信息保护法 requests (core/store/subject_rights.py): export all, delete what may go.

On SQLite and on PostgreSQL (skipped when the server is unreachable, except on CI), with the
store and Rasa's own SQLTrackerStore; another holder's data and a stranger's conversation
are there too and must come through untouched.
"""

from __future__ import annotations

import asyncio
import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, inspect, select, text

from core.settings import Settings
from core.store import SubscriptionService
from core.store.db import make_session_factory
from core.store.errors import TrackerStoreError
from core.store.models import AuditEvent, HandoffTicket
from core.store.retention import main as retention_main
from core.store.seed import seed_demo
from core.store.subject_data import ActiveMemberships, phone_tables
from core.store.subject_rights import main, parse_phone, run_delete, run_export, sms_conversation
from core.store.tracker_retention import tracker_engine, tracker_url_from_endpoints
from tests.unit.store_fixtures import backend_database

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI = "13800138000", "13900139000"
SECRET = "test-sms-secret"
MINE, STRANGER, OTHER = "rest:zhang-1", "rest:stranger", "rest:li-1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AUDIT_OPERATOR", "dpo-wang")
    for name in ("STORE_URL", "TRACKER_STORE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def lived(db_engine, db_url, catalog, clock, partners) -> SubscriptionService:
    """The demo store after 张三 verified, cancelled, asked for an agent and got an SMS; a
    stranger asked for a code to his number; 李四 did the same things for himself."""
    service = SubscriptionService(
        make_session_factory(db_engine),
        catalog,
        replace(Settings(), store_url=db_url),
        partners,
        clock,
    )
    seed_demo(service, catalog, clock())
    for phone, conversation in ((ZHANG, MINE), (LI, OTHER)):
        code = service.issue_code(phone, conversation, "rest").code
        assert service.check_code(phone, code, conversation, "rest").status == "ok"
        sub = next(s for s in service.subscriptions(phone) if s.status == "active")
        service.cancel(
            sub.id, phone=phone, channel="rest", conversation_id=conversation,
            idempotency_key=f"{conversation}:{sub.id}",
        )  # fmt: skip
        service.record_reason(service.cancellations(phone)[0].reference, f"换号了 {phone}")
        service.open_handoff(
            conversation_id=conversation, channel="rest", phone=phone, summary=f"用户说号码{phone}"
        )
        service.record_sms(phone, "receipt", "failed", "gateway said no")
        clock.advance(minutes=2)
    service.issue_code(ZHANG, STRANGER, "rest")
    return service


def _cancel_everything(service: SubscriptionService, phone: str) -> None:
    for sub in service.subscriptions(phone):
        if sub.status == "active":
            outcome = service.cancel(
                sub.id, phone=phone, channel="rest", conversation_id=MINE,
                idempotency_key=f"{MINE}:{sub.id}",
            )  # fmt: skip
            assert outcome.status in ("cancelled", "app_store"), outcome


@pytest.fixture
def tracker_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Rasa's SQLTrackerStore holding 张三's, his SMS conversation, a stranger's and 李四's."""
    with backend_database(backend, tmp_path / "tracker", "subject_test") as url:
        store = SQLTrackerStore(domain=Domain.empty(), host=url)
        try:
            for sender in (MINE, sms_conversation(ZHANG), STRANGER, OTHER):
                events = [
                    SessionStarted(),
                    ActionExecuted("action_listen"),
                    UserUttered("我的号码是138****8000", {"name": "inform", "confidence": 1.0}),
                ]
                asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
        finally:
            store.engine.dispose()
        yield url


def _senders(url: str) -> set:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars())
    finally:
        engine.dispose()


def _keys(value) -> set:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value)) if value else set()
    return set()


def _audit(service: SubscriptionService, action: str) -> list:
    with service.session_factory.begin() as session:
        table = AuditEvent.__table__
        return session.execute(select(table).where(table.c.action == action)).all()


def test_export_holds_everything_about_the_number_and_nothing_else(lived, tracker_url) -> None:
    """Account, memberships, charges, cancellations, tickets, codes' metadata, SMS log, audit
    rows, conversations and their events; no hash, key or ciphertext; nothing of 李四's."""
    tracker = tracker_engine(tracker_url)
    try:
        data = run_export(lived.session_factory, lived.phone_cipher, ZHANG, tracker)
    finally:
        tracker.dispose()
    assert data["account"]["holder_name"] == "张三" and data["account"]["phone"] == ZHANG
    assert {s["product_name"] for s in data["subscriptions"]} >= {"腾讯视频VIP", "QQ音乐绿钻"}
    assert len(data["cancellations"]) == 2  # the demo's 咪咕 and today's
    assert data["charges"] and all("amount" in c for c in data["charges"])
    assert [t["summary"] for t in data["handoff_tickets"]] == ["用户说号码138****8000"]
    challenges = data["verification_challenges"]
    assert {c["conversation_id"] for c in challenges} == {MINE, STRANGER}
    assert data["verified_sessions"][0]["conversation_id"] == MINE
    assert data["sms_log"] and data["audit_events"]
    conversations = data["conversations"]
    # The demo's own cancellation was made in "demo-seed".
    assert conversations["ids"] == sorted([MINE, sms_conversation(ZHANG), "demo-seed"])
    assert conversations["codes_requested_in"] == [STRANGER]
    assert set(conversations["tracker_events"]) == {MINE, sms_conversation(ZHANG)}
    assert data["kept_after_deletion"]
    assert not _keys(data) & {"phone_ciphertext", "phone_index", "code_hash", "client_key"}
    blob = json.dumps(data, ensure_ascii=False)
    assert LI not in blob and "李四" not in blob and OTHER not in blob
    (row,) = _audit(lived, "subject_data_exported")
    assert row.phone_masked == "138****8000" and row.detail["operator"] == "dpo-wang"
    assert ZHANG not in json.dumps(row.detail)


def test_delete_refuses_while_a_membership_renews(lived) -> None:
    """Nothing changes while 张三 still has an auto-renewing membership; the refusal is audited."""
    with pytest.raises(ActiveMemberships):
        run_delete(lived.session_factory, lived.phone_cipher, ZHANG, dry_run=False)
    assert lived.account(ZHANG) is not None
    assert len(_audit(lived, "subject_data_delete_refused")) == 1
    # 李四's one renewing membership is billed by the App Store: only he can stop it there.
    assert [s.billing_channel for s in lived.subscriptions(LI) if s.status == "active"] == [
        "app_store"
    ]
    assert run_delete(lived.session_factory, lived.phone_cipher, LI)["accounts_anonymised"] == 1


def test_delete_removes_the_number_and_keeps_the_business_records(
    lived, tracker_url, db_engine, plain_phones, catalog, clock, partners, db_url
) -> None:
    """The number is gone from every table (encrypted or indexed), codes, sessions, the links
    to conversations and their trackers; cancellations stay by reference; 李四 is untouched."""
    _cancel_everything(lived, ZHANG)
    references = [c.reference for c in lived.cancellations(ZHANG)]
    tracker = tracker_engine(tracker_url)
    try:
        preview = run_delete(lived.session_factory, lived.phone_cipher, ZHANG, tracker)
        assert lived.account(ZHANG) is not None  # a dry run changes nothing
        assert _senders(tracker_url) == {MINE, sms_conversation(ZHANG), STRANGER, OTHER}
        counts = run_delete(lived.session_factory, lived.phone_cipher, ZHANG, tracker, False)
    finally:
        tracker.dispose()
    assert counts == preview
    assert counts["tracker_conversations"] == 2 and counts["verification_challenges"] == 2
    assert _senders(tracker_url) == {STRANGER, OTHER}
    assert lived.account(ZHANG) is None and lived.subscriptions(ZHANG) == []
    for reference in references:
        kept = lived.cancellation(reference)
        assert kept is not None and kept.reason is None
    assert plain_phones(db_engine, (ZHANG,)) == []
    with db_engine.connect() as connection:
        for table in phone_tables():
            for token in connection.execute(select(table.c.phone_ciphertext)).scalars():
                assert lived.phone_cipher.decrypt(token) != ZHANG, table.name
        summaries = connection.execute(
            select(HandoffTicket.conversation_id, HandoffTicket.summary)
        ).all()
        assert ("", "") in summaries and (OTHER, "用户说号码139****9000") in summaries
        names = set(connection.execute(text("SELECT holder_name FROM accounts")).scalars())
        assert "张三" not in names and "李四" in names
    # A new service checks its keys on the first account row, anonymised or not.
    fresh = SubscriptionService(
        make_session_factory(db_engine),
        catalog,
        replace(Settings(), store_url=db_url),
        partners,
        clock,
    )
    assert fresh.account(LI).holder_name == "李四"
    assert len(fresh.cancellations(LI)) == 1
    (row,) = _audit(lived, "subject_data_deleted")
    assert row.phone_masked == "138****8000" and row.detail["counts"] == counts
    assert _audit(lived, "code_issued")  # the audit log is kept as it was
    again = run_delete(lived.session_factory, lived.phone_cipher, ZHANG, dry_run=False)
    assert again.get("accounts_anonymised", 0) == 0 and again["verification_challenges"] == 0


def test_the_sms_conversation_is_the_channels_own(monkeypatch) -> None:
    """The id the command computes is the one the SMS channel gives the number."""
    from channels.sms import sender_id

    assert sms_conversation(ZHANG) == sender_id(ZHANG, SECRET)
    monkeypatch.delenv("SMS_WEBHOOK_SECRET")
    assert sms_conversation(ZHANG) is None


@pytest.mark.parametrize(
    "raw", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "１３８００１３８０００"]
)
def test_the_operator_may_type_the_number_any_usual_way(raw: str) -> None:
    """Spaces, dashes, +86 and full-width digits are accepted."""
    assert parse_phone(raw) == ZHANG


def test_command_line_export_delete_and_endpoints(
    lived, tracker_url, backend, db_url, tmp_path, monkeypatch, capsys
) -> None:
    """export writes a file only its owner can read; delete needs --yes; the tracker store
    is the one an endpoints.yml names, with ${VARS} from the environment."""
    if backend != "sqlite":
        pytest.skip("the command line is the same on both; the file-based endpoints is SQLite")
    tracker_db = tracker_url.removeprefix("sqlite:///")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "action_endpoint:\n  url: ${ACTION_SERVER_URL}\n"
        "tracker_store:\n  type: redaction.tracker_store.RedactingTrackerStore\n"
        "  store:\n    type: sql\n    dialect: sqlite\n    db: ${TRACKER_DB}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TRACKER_DB", tracker_db)
    out = tmp_path / "export.json"
    args = ["--url", db_url, "--endpoints", str(endpoints)]
    assert main(["export", "138 0013 8000", "--out", str(out), *args]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert MINE in json.loads(out.read_text(encoding="utf-8"))["conversations"]["tracker_events"]
    assert main(["delete", ZHANG, *args]) == 3  # memberships still renew
    _cancel_everything(lived, ZHANG)
    assert main(["delete", ZHANG, *args]) == 0
    assert "dry run" in capsys.readouterr().out and lived.account(ZHANG) is not None
    assert main(["delete", ZHANG, "--yes", *args]) == 0
    output = capsys.readouterr().out
    assert "138****8000" in output and ZHANG not in output
    assert lived.account(ZHANG) is None and _senders(tracker_url) == {STRANGER, OTHER}
    assert main(["export", "12345", "--url", db_url]) == 2


def test_endpoints_files_name_the_tracker_store(tmp_path, monkeypatch) -> None:
    """The production endpoints give a PostgreSQL URL from its variables; the development
    one keeps trackers in memory; a missing variable or a Redis store is an error."""
    env = {
        "TRACKER_DB_HOST": "db.internal", "TRACKER_DB_PORT": "5432", "TRACKER_DB_NAME": "rasa",
        "TRACKER_DB_USER": "rasa", "TRACKER_DB_PASSWORD": "p@ss", "TRACKER_DB_SSLMODE": "require",
    }  # fmt: skip
    production = ROOT / "deploy" / "endpoints.production.yml"
    assert tracker_url_from_endpoints(production, env) == (
        "postgresql://rasa:p%40ss@db.internal:5432/rasa?sslmode=require"
    )
    assert tracker_url_from_endpoints(ROOT / "endpoints.yml", {}) is None
    with pytest.raises(TrackerStoreError, match="TRACKER_DB_HOST"):
        tracker_url_from_endpoints(production, {})
    redis = tmp_path / "redis.yml"
    redis.write_text("tracker_store:\n  type: redis\n  url: localhost\n", encoding="utf-8")
    with pytest.raises(TrackerStoreError, match="redis"):
        tracker_url_from_endpoints(redis, {})
    with pytest.raises(TrackerStoreError):
        tracker_url_from_endpoints(tmp_path / "missing.yml", {})


def test_retention_reads_the_tracker_store_from_endpoints(
    lived, tracker_url, backend, db_url, tmp_path, monkeypatch, capsys
) -> None:
    """`retention --endpoints` prunes the tracker store the endpoints file names."""
    if backend != "sqlite":
        pytest.skip("the file-based endpoints is SQLite")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: sql\n  dialect: sqlite\n  db: ${TRACKER_DB}\n", encoding="utf-8"
    )
    monkeypatch.setenv("TRACKER_DB", tracker_url.removeprefix("sqlite:///"))
    args = ["--url", db_url, "--endpoints", str(endpoints), "--now", "2099-01-01T00:00:00Z"]
    assert retention_main([*args, "--dry-run"]) == 0
    assert "tracker_conversations         4 to delete" in capsys.readouterr().out
    monkeypatch.delenv("TRACKER_DB")
    assert retention_main(args) == 2
    assert "TRACKER_DB" in capsys.readouterr().err
    assert len(_senders(tracker_url)) == 4
    assert inspect(create_engine(db_url)).has_table("audit_events")
