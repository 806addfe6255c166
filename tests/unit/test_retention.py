"""Retention (core/store/retention.py): old conversation data goes, business records stay.

The store and Rasa's tracker store run on SQLite and on PostgreSQL (skipped when the server
is unreachable, except on CI, where that is a failure). The tracker store is Rasa's own
SQLTrackerStore, filled with trackers through Rasa's API.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from core.settings import PROJECT_ROOT, Settings
from core.store import InvalidArgument, SubscriptionService
from core.store.db import make_session_factory
from core.store.errors import TrackerStoreError
from core.store.models import VerificationLock
from core.store.privacy import stored_phone
from core.store.retention import main
from core.store.retention_policy import RetentionPolicy, run_retention
from core.store.seed import seed_demo
from core.store.tracker_retention import tracker_engine
from tests.unit.store_fixtures import backend_database

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # the fixtures' clock START
DAY = timedelta(days=1)
# Where no test of this module should look for settings: each test sets what it needs.
RETENTION_ENV = (
    "CODE_RETENTION_HOURS",
    "SMS_LOG_RETENTION_DAYS",
    "HANDOFF_SUMMARY_RETENTION_DAYS",
    "CONVERSATION_RETENTION_DAYS",
    "TRACKER_STORE_URL",
    "STORE_URL",
)
STORE_TABLES = (
    "verification_challenges",
    "verification_locks",
    "verified_sessions",
    "conversation_phones",
    "sms_messages",
)
# Rasa conversations: sender -> ages of its events. "mixed" is old but active yesterday.
CONVERSATIONS = {
    "old-conv": (40 * DAY, 35 * DAY),
    "mixed-conv": (40 * DAY, DAY),
    "new-conv": (timedelta(hours=1),),
}


@pytest.fixture(autouse=True)
def _no_retention_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RETENTION_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aged(db_engine, db_url, catalog, clock, partners) -> SubscriptionService:
    """The demo store with codes, locks, SMS records and tickets of various ages."""
    settings = replace(Settings(), store_url=db_url)
    factory = make_session_factory(db_engine)
    service = SubscriptionService(factory, catalog, settings, partners, clock)
    seed_demo(service, catalog, NOW)

    def at(age: timedelta) -> None:
        clock.now = NOW - age

    at(100 * DAY)
    service.record_sms(ZHANG, "receipt", "sent")
    service.open_handoff(conversation_id="c-100d", channel="rest", phone=ZHANG, summary="一百天前")
    at(40 * DAY)
    service.record_sms(ZHANG, "verification", "sent")
    service.open_handoff(conversation_id="c-40d", channel="rest", phone=None, summary="四十天前")
    at(2 * DAY)
    zhang_code = service.issue_code(ZHANG, "c-2d").code
    # A verified session last used two days ago: long over, its encrypted phone must go.
    assert service.check_code(ZHANG, zhang_code, "c-2d").status == "ok"
    service.remember_conversation_phone("c-2d-li", LI)
    li_code = service.issue_code(LI, "c-2d-li").code
    wrong = f"{(int(li_code) + 1) % 1_000_000:06d}"
    while service.check_code(LI, wrong, "c-2d-li").status != "locked":
        pass
    at(timedelta(minutes=5))
    wang_code = service.issue_code(WANG, "c-now").code
    while service.check_code(WANG, f"{(int(wang_code) + 1) % 1_000_000:06d}", "c-now").status != (
        "locked"
    ):
        pass  # locked until ten minutes from now: must survive any clean-up
    # Locks by number are no longer written (revision 0005), but stores from before hold
    # them: one over since two days, one still in force.
    _legacy_lock(service, LI, NOW - 2 * DAY + timedelta(minutes=15))
    _legacy_lock(service, WANG, NOW + timedelta(minutes=10))
    at(timedelta(seconds=30))
    service.remember_conversation_phone("c-now", ZHAO)
    service.issue_code(ZHAO, "c-now")
    service.record_sms(ZHAO, "verification", "sent")
    service.open_handoff(conversation_id="c-now", channel="rest", phone=ZHAO, summary="刚刚")
    at(timedelta(0))
    return service


def _legacy_lock(service: SubscriptionService, phone: str, until: datetime) -> None:
    with service.session_factory.begin() as session:
        session.add(
            VerificationLock(
                **stored_phone(service.phone_cipher, phone).columns(), locked_until=until
            )
        )


@pytest.fixture
def tracker_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """Rasa's SQLTrackerStore, created by Rasa, holding CONVERSATIONS."""
    with backend_database(backend, tmp_path / "tracker", "retention_test") as url:
        store = SQLTrackerStore(domain=Domain.empty(), host=url)
        try:
            for sender, ages in CONVERSATIONS.items():
                asyncio.run(store.save(_tracker(sender, ages)))
        finally:
            store.engine.dispose()
        yield url


def _tracker(sender: str, ages: tuple[timedelta, ...]) -> DialogueStateTracker:
    events = []
    for age in ages:
        at = (NOW - age).timestamp()
        events += [
            SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
            UserUttered(f"我的号码是{ZHANG}", {"name": "inform", "confidence": 1.0}, timestamp=at),
        ]
    return DialogueStateTracker.from_events(sender, events)


def _conversations(url: str) -> dict[str, int]:
    """Events per sender, read back through Rasa's SQLTrackerStore."""
    store = SQLTrackerStore(domain=Domain.empty(), host=url)
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")
            ).all()
        return dict(rows)
    finally:
        store.engine.dispose()


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in STORE_TABLES
        }
        summaries = connection.execute(
            text("SELECT conversation_id, summary FROM handoff_tickets ORDER BY created_at")
        ).all()
    return {**counts, "summaries": [tuple(row) for row in summaries]}


def _snapshot(engine: Engine) -> dict[str, list]:
    """Every row of every store table but the audit log."""
    with engine.connect() as connection:
        return {
            table: sorted(map(repr, connection.execute(text(f"SELECT * FROM {table}")).all()))
            for table in (*STORE_TABLES, "handoff_tickets", "cancellations", "accounts")
        }


def _audit(engine: Engine, action: str) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT channel, detail FROM audit_events WHERE action = :a ORDER BY id"),
            {"a": action},
        ).all()
    return [
        {"channel": channel, "detail": json.loads(d) if isinstance(d, str) else d}
        for channel, d in rows
    ]


def _policy(**overrides: int) -> RetentionPolicy:
    return RetentionPolicy.from_settings(replace(Settings(), **overrides))


EXPECTED = {
    "verification_challenges": 2,  # 张三's and 李四's of two days ago
    "verification_locks": 1,  # 李四's, over since two days
    "verified_sessions": 1,  # 张三's, last used two days ago
    "conversation_phones": 1,  # the number given in c-2d-li two days ago
    "sms_messages": 1,  # the receipt of 100 days ago
    "handoff_summaries": 2,  # the tickets of 100 and 40 days ago
}


def test_the_policy_comes_from_the_settings_and_refuses_unsafe_values() -> None:
    policy = RetentionPolicy.from_settings(Settings())
    assert (policy.codes, policy.sms_log) == (timedelta(hours=24), 90 * DAY)
    assert (policy.handoff_summaries, policy.conversations) == (30 * DAY, 30 * DAY)
    env = {
        "CODE_RETENTION_HOURS": "2",
        "SMS_LOG_RETENTION_DAYS": "7",
        "HANDOFF_SUMMARY_RETENTION_DAYS": "14",
        "CONVERSATION_RETENTION_DAYS": "3",
        "TRACKER_STORE_URL": "sqlite:///tracker.db",
    }
    settings = Settings.from_env(env)
    assert settings.tracker_store_url == "sqlite:///tracker.db"
    assert "tracker.db" not in repr(settings)  # a URL may hold a password
    policy = RetentionPolicy.from_settings(settings)
    assert (policy.codes, policy.sms_log, policy.conversations) == (
        timedelta(hours=2),
        7 * DAY,
        3 * DAY,
    )
    for bad in (
        {"conversation_retention_days": 0},
        {"sms_log_retention_days": -1},
        {"code_retention_hours": 1, "code_ttl_seconds": 7200},  # would delete live codes
        {"code_retention_hours": 2, "verified_idle_seconds": 3 * 3600},  # and who is verified
    ):
        with pytest.raises(InvalidArgument):
            _policy(**bad)


def test_old_rows_go_new_rows_stay(aged: SubscriptionService, db_engine: Engine) -> None:
    before = _counts(db_engine)
    assert before["verification_challenges"] == 4 and before["verification_locks"] == 2
    report = run_retention(aged.session_factory, _policy(), NOW)
    assert report.counts == EXPECTED and not report.dry_run
    after = _counts(db_engine)
    for table in STORE_TABLES:
        assert after[table] == before[table] - EXPECTED[table]
    # The tickets stay (their references are records); only the old summaries are emptied.
    assert after["summaries"] == [("c-100d", ""), ("c-40d", ""), ("c-now", "刚刚")]
    # What is left works as before: the live lock holds, the new code is still checkable.
    assert aged.issue_code(WANG, "c-now").status == "locked"
    assert aged.issue_code(ZHAO, "c-now").status == "too_soon"
    assert aged.issue_code(ZHANG, "c-new").status == "issued"
    # Business records are untouched.
    assert len(aged.cancellations(ZHANG)) == 1
    (run,) = _audit(db_engine, "retention_run")
    assert run["channel"] == "cli" and run["detail"]["counts"] == EXPECTED
    assert run["detail"]["tracker_store"] is False
    assert run_retention(aged.session_factory, _policy(), NOW).counts == dict.fromkeys(EXPECTED, 0)


def test_a_dry_run_counts_and_deletes_nothing(aged: SubscriptionService, db_engine) -> None:
    before = _snapshot(db_engine)
    report = run_retention(aged.session_factory, _policy(), NOW, dry_run=True)
    assert report.counts == EXPECTED and report.dry_run
    assert _snapshot(db_engine) == before
    (run,) = _audit(db_engine, "retention_dry_run")
    assert run["detail"]["counts"] == EXPECTED
    assert any("to delete" in line for line in report.lines())


def test_the_cutoffs_follow_the_settings(aged: SubscriptionService) -> None:
    longer = _policy(sms_log_retention_days=365, handoff_summary_retention_days=60)
    counts = run_retention(aged.session_factory, longer, NOW, dry_run=True).counts
    assert (counts["sms_messages"], counts["handoff_summaries"]) == (0, 1)
    shorter = _policy(code_retention_hours=1, sms_log_retention_days=1)
    counts = run_retention(aged.session_factory, shorter, NOW, dry_run=True).counts
    # 王五's lock is in force and 赵六's code is five minutes old: both stay.
    assert (counts["verification_challenges"], counts["verification_locks"]) == (2, 1)
    assert counts["sms_messages"] == 2


def test_tracker_conversations_go_whole_and_only_when_all_is_old(
    aged: SubscriptionService, db_engine, tracker_url: str
) -> None:
    assert _conversations(tracker_url) == {"old-conv": 6, "mixed-conv": 6, "new-conv": 3}
    tracker = tracker_engine(tracker_url)
    try:
        dry = run_retention(aged.session_factory, _policy(), NOW, dry_run=True, tracker=tracker)
        assert (dry.counts["tracker_conversations"], dry.counts["tracker_events"]) == (1, 6)
        assert _conversations(tracker_url)["old-conv"] == 6
        report = run_retention(aged.session_factory, _policy(), NOW, tracker=tracker)
    finally:
        tracker.dispose()
    assert (report.counts["tracker_conversations"], report.counts["tracker_events"]) == (1, 6)
    # The active conversation keeps its 40-day-old events too: never a partial one.
    assert _conversations(tracker_url) == {"mixed-conv": 6, "new-conv": 3}
    store = SQLTrackerStore(domain=Domain.empty(), host=tracker_url)
    try:
        assert asyncio.run(store.retrieve("old-conv")) is None
        kept = asyncio.run(store.retrieve_full_tracker("mixed-conv"))
        assert [e.timestamp for e in kept.events][0] == (NOW - 40 * DAY).timestamp()
    finally:
        store.engine.dispose()
    (run,) = _audit(db_engine, "retention_run")
    assert run["detail"]["counts"]["tracker_events"] == 6
    assert run["detail"]["tracker_store"] is True


def test_a_tracker_store_failure_deletes_nothing_anywhere(
    aged: SubscriptionService, db_engine, tmp_path: Path
) -> None:
    before = _snapshot(db_engine)
    empty = tmp_path / "not_rasa.db"
    create_engine(f"sqlite:///{empty}", future=True).connect().close()
    other = tmp_path / "other_events.db"
    with create_engine(f"sqlite:///{other}", future=True).begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER, at TEXT)"))
    urls = (f"sqlite:///{empty}", f"sqlite:///{other}", "postgresql://postgres@127.0.0.1:1/none")
    for url in urls:
        tracker = tracker_engine(url)
        try:
            with pytest.raises(TrackerStoreError):
                run_retention(aged.session_factory, _policy(), NOW, tracker=tracker)
        finally:
            tracker.dispose()
    assert _snapshot(db_engine) == before
    failures = _audit(db_engine, "retention_failed")
    assert [f["detail"]["error"] for f in failures] == ["TrackerStoreError"] * 3
    assert _audit(db_engine, "retention_run") == []


@pytest.mark.parametrize(
    "url", ["not a url", "sqlite:////nonexistent/folder/tracker.db", "nosuchdialect://x/y"]
)
def test_tracker_urls_that_cannot_work_are_named(url: str) -> None:
    with pytest.raises(TrackerStoreError, match="TRACKER_STORE_URL"):
        tracker_engine(url)


# The command line


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_prints_counts_and_no_personal_data(
    aged, db_url: str, db_engine, tracker_url: str, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", tracker_url)
    code, out, err = _run(["--url", db_url, "--now", NOW.isoformat(), "--dry-run"], capsys)
    assert code == 0, err
    assert "dry run, nothing deleted" in out
    assert re.search(r"verification_challenges\s+2 to delete", out)
    assert re.search(r"tracker_conversations\s+1 to delete", out)
    assert _conversations(tracker_url)["old-conv"] == 6

    code, out, err = _run(["--url", db_url, "--now", "2026-11-24T10:00:00+08:00"], capsys)
    assert code == 0, err
    assert re.search(r"handoff_summaries\s+2 cleared", out)
    assert re.search(r"tracker_events\s+6 deleted", out)
    assert "old-conv" not in _conversations(tracker_url)
    assert not re.search(r"\d{11}", out) and "138" not in out and "c-100d" not in out
    assert (
        len(_audit(db_engine, "retention_dry_run")) == len(_audit(db_engine, "retention_run")) == 1
    )


def test_the_command_without_a_tracker_store_says_so(aged, db_url, capsys) -> None:
    code, out, _ = _run(["--url", db_url, "--now", "2026-11-24T02:00:00Z"], capsys)
    assert code == 0
    assert "TRACKER_STORE_URL unset" in out
    assert re.search(r"sms_messages\s+1 deleted", out)


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--now", "yesterday"], {}, "--now"),
        (["--now", "2026-11-24T10:00:00"], {}, "--now"),  # no time zone
        ([], {"CONVERSATION_RETENTION_DAYS": "0"}, "CONVERSATION_RETENTION_DAYS"),
        ([], {"CODE_RETENTION_HOURS": "a day"}, "CODE_RETENTION_HOURS"),
        ([], {"TRACKER_STORE_URL": "not a url"}, "TRACKER_STORE_URL"),
        ([], {"TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:1/x"}, "tracker store"),
    ],
)
def test_operator_errors_exit_2_and_delete_nothing(
    aged, db_url, db_engine, argv, env, says, monkeypatch, capsys
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = _snapshot(db_engine)
    code, out, err = _run(["--url", db_url, *argv], capsys)
    assert code == 2 and out == ""
    assert "数据清理失败" in err and "未删除任何数据" in err
    assert "retention failed" in err and says in err
    assert _snapshot(db_engine) == before


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "不是|无效"),
        ("postgresql://postgres@127.0.0.1:1/store", "无法连接业务数据库"),
    ],
)
def test_a_bad_or_unreachable_store_exits_2(url: str, says: str, capsys) -> None:
    code, out, err = _run(["--url", url], capsys)
    assert code == 2 and out == ""
    assert re.search(says, err) and "nothing was deleted" in err


def test_a_missing_sqlite_store_is_not_created(tmp_path: Path, capsys) -> None:
    path = tmp_path / "typo" / "store.db"
    code, _, err = _run(["--url", f"sqlite:///{path}"], capsys)
    assert code == 2 and "找不到业务数据库文件" in err
    assert not path.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_python_dash_m_runs_it(aged, db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.store.retention", "--dry-run", "--now", NOW.isoformat()],
        cwd=PROJECT_ROOT,
        env={"STORE_URL": db_url, "PATH": "/usr/bin:/bin", "CODE_RETENTION_HOURS": "72"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"retention on {db_url}" in result.stdout
    # Two days old, so kept for 72 hours; the 100-day-old SMS record goes either way.
    assert re.search(r"verification_challenges\s+0 to delete", result.stdout)
    assert re.search(r"sms_messages\s+1 to delete", result.stdout)
