"""The number a conversation was given (core/store/given_phones.py) and where a conversation
stands with its codes (verification.code_state), on SQLite and PostgreSQL (skipped when the
server is unreachable, except on CI)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from core.settings import Settings
from core.store import SubscriptionService
from core.store.db import downgrade_schema, make_session_factory, upgrade_schema
from core.store.models import AuditEvent, ConversationPhone, VerificationChallenge
from core.store.seed import seed_demo
from core.store.subject_data import delete_subject, export_subject, find_subject

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG, LI, ZHAO = "13800138000", "13900139000", "13600136000"
CONV, OTHER = "rest:tab-1", "rest:tab-2"


@pytest.fixture
def store(db_engine, db_url, catalog, clock, partners) -> SubscriptionService:
    """The demo store on the backend."""
    settings = replace(Settings(), store_url=db_url)
    service = SubscriptionService(
        make_session_factory(db_engine), catalog, settings, partners, clock
    )
    seed_demo(service, catalog, clock())
    return service


def _rows(service: SubscriptionService, model) -> int:
    with service.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- the number given ----------------------------------------------------------------------


def test_a_number_given_is_kept_without_any_code(store: SubscriptionService) -> None:
    assert store.conversation_phone(CONV) is None
    store.remember_conversation_phone(CONV, ZHAO)
    assert store.conversation_phone(CONV) == ZHAO
    assert store.session_phone(CONV) is None  # a number given proves nothing
    assert store.conversation_phone(OTHER) is None
    assert _rows(store, VerificationChallenge) == 0


def test_the_number_given_last_wins_and_one_row_is_kept(store, clock) -> None:
    store.remember_conversation_phone(CONV, ZHANG)
    clock.advance(seconds=5)
    store.remember_conversation_phone(CONV, LI)
    assert store.conversation_phone(CONV) == LI
    clock.advance(seconds=5)
    store.remember_conversation_phone(CONV, ZHANG)
    assert store.conversation_phone(CONV) == ZHANG
    assert _rows(store, ConversationPhone) == 1


def test_the_newer_of_number_given_and_last_code_is_answered(store, settings, clock) -> None:
    # Codes sent before revision 0006 (or to an IVR caller's own line) are still found.
    store.issue_code(ZHANG, CONV)
    assert store.conversation_phone(CONV) == ZHANG
    clock.advance(seconds=1)
    store.remember_conversation_phone(CONV, LI)
    assert store.conversation_phone(CONV) == LI
    clock.advance(seconds=settings.resend_interval_seconds)
    store.issue_code(ZHAO, CONV)  # a code to the caller's line, never typed
    assert store.conversation_phone(CONV) == ZHAO
    # Given and sent at the same moment: what was given counts.
    store.remember_conversation_phone(CONV, LI)
    assert store.conversation_phone(CONV) == LI


def test_the_number_is_stored_encrypted_and_indexed(
    store, db_engine, backend, plain_phones
) -> None:
    store.remember_conversation_phone(CONV, ZHAO)
    if backend == "sqlite":
        assert plain_phones(db_engine, (ZHAO,)) == []
    with db_engine.connect() as connection:
        token, index = connection.execute(
            text("SELECT phone_ciphertext, phone_index FROM conversation_phones")
        ).one()
    assert token.startswith("gA") and store.phone_cipher.decrypt(token) == ZHAO
    assert index == store.phone_cipher.index(ZHAO)


# --- where a conversation stands with its codes -------------------------------------------


def test_code_state_answers_what_issue_code_would_without_writing(store, settings, clock) -> None:
    audited = _rows(store, AuditEvent)
    state = store.code_state(ZHAO, CONV)
    assert (state.live, state.status, state.retry_at) == (False, "ready", None)
    assert _rows(store, VerificationChallenge) == 0 and _rows(store, AuditEvent) == audited

    issue = store.issue_code(ZHAO, CONV)
    clock.advance(seconds=13)
    state = store.code_state(ZHAO, CONV)
    assert (state.live, state.status) == (True, "too_soon")
    assert state.retry_at == issue.retry_at
    # Another conversation for the same number may have its own code at once.
    assert store.code_state(ZHAO, OTHER).status == "ready"
    assert store.issue_code(ZHAO, OTHER).status == "issued"

    clock.advance(seconds=settings.resend_interval_seconds)
    assert (store.code_state(ZHAO, CONV).live, store.code_state(ZHAO, CONV).status) == (
        True,
        "ready",
    )
    clock.advance(seconds=settings.code_ttl_seconds)
    assert store.code_state(ZHAO, CONV).live is False  # expired


def test_code_state_after_use_and_after_a_lockout(store, settings, clock) -> None:
    issue = store.issue_code(ZHANG, CONV)
    assert store.check_code(ZHANG, issue.code, CONV).status == "ok"
    assert store.code_state(ZHANG, CONV).live is False  # used up
    clock.advance(seconds=settings.resend_interval_seconds)
    issue = store.issue_code(ZHANG, CONV)
    wrong = f"{(int(issue.code) + 1) % 1_000_000:06d}"
    while store.check_code(ZHANG, wrong, CONV).status != "locked":
        pass
    state = store.code_state(ZHANG, CONV)
    assert (state.live, state.status) == (False, "locked")
    assert state.retry_at == clock() + timedelta(seconds=settings.lockout_seconds)
    assert store.issue_code(ZHANG, CONV).retry_at == state.retry_at


def test_code_state_names_the_numbers_hourly_ceiling(store, settings, clock) -> None:
    first = clock()
    for n in range(settings.codes_per_hour):
        assert store.issue_code(ZHAO, f"rest:elsewhere-{n}").status == "issued"
        clock.advance(seconds=1)
    state = store.code_state(ZHAO, CONV)
    assert (state.live, state.status) == (False, "hourly_limit")
    assert state.retry_at == first + timedelta(hours=1)
    refused = store.issue_code(ZHAO, CONV)
    assert (refused.status, refused.retry_at) == (state.status, state.retry_at)


# --- retention, subject rights, schema ----------------------------------------------------


def test_a_conversation_that_only_gave_the_number_is_not_the_subjects(store) -> None:
    store.remember_conversation_phone(CONV, ZHANG)
    with store.session_factory.begin() as session:
        subject = find_subject(session, store.phone_cipher, ZHANG)
        assert CONV in subject.asked_in and CONV not in subject.conversations
        exported = export_subject(session, subject)
    (row,) = exported["conversation_phones"]
    assert row["conversation_id"] == CONV and "phone_ciphertext" not in row
    assert "phone_index" not in row
    # A deletion takes the row with it (renewing memberships must end first: they do here).
    with store.session_factory.begin() as session:
        for sub in store.subscriptions(ZHANG):
            session.execute(
                text("UPDATE subscriptions SET auto_renew = :f WHERE id = :i"),
                {"f": False, "i": sub.id},
            )
    with store.session_factory.begin() as session:
        subject = find_subject(session, store.phone_cipher, ZHANG)
        counts = delete_subject(session, store.phone_cipher, subject)
    assert counts["conversation_phones"] == 1
    assert store.conversation_phone(CONV) is None


def test_revision_0006_adds_the_table_and_goes_back(store, db_engine) -> None:
    store.remember_conversation_phone(CONV, ZHAO)
    downgrade_schema(db_engine, "0005", store.phone_cipher)
    assert "conversation_phones" not in inspect(db_engine).get_table_names()
    upgrade_schema(db_engine, store.phone_cipher)
    assert "conversation_phones" in inspect(db_engine).get_table_names()
    assert store.conversation_phone(CONV) is None
    store.remember_conversation_phone(CONV, ZHAO)
    assert store.conversation_phone(CONV) == ZHAO
