"""SMS verification codes (core/store/verification.py)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.store import InvalidPhone, SubscriptionService, given_phones
from core.store.models import AuditEvent, VerificationChallenge, VerificationLock

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG = "13800138000"
STRANGER = "13500135000"  # no account
CONV = "conversation-1"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_issue_gives_a_six_digit_code_valid_for_the_ttl(service, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    assert issue.status == "issued"
    assert re.fullmatch(r"\d{6}", issue.code)
    assert issue.expires_at == clock() + timedelta(seconds=settings.code_ttl_seconds)
    assert issue.retry_at == clock() + timedelta(seconds=settings.resend_interval_seconds)


def test_the_right_code_is_ok_once(service) -> None:
    issue = service.issue_code(ZHANG, CONV)
    assert service.check_code(ZHANG, issue.code, CONV).status == "ok"
    assert service.check_code(ZHANG, issue.code, CONV).status == "no_code"


def test_a_code_expires_after_the_ttl(service, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    clock.advance(seconds=settings.code_ttl_seconds)
    expired = service.check_code(ZHANG, issue.code, CONV)
    assert (expired.status, expired.remaining_attempts) == ("expired", settings.max_code_attempts)


def test_a_code_is_still_good_just_before_the_ttl(service, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    clock.advance(seconds=settings.code_ttl_seconds - 1)
    assert service.check_code(ZHANG, issue.code, CONV).status == "ok"


def test_the_code_is_bound_to_phone_and_conversation(service) -> None:
    issue = service.issue_code(ZHANG, CONV)
    assert service.check_code(ZHANG, issue.code, "another-conversation").status == "no_code"
    assert service.check_code(STRANGER, issue.code, CONV).status == "no_code"
    assert service.check_code(ZHANG, issue.code, CONV).status == "ok"


def test_wrong_codes_count_down_then_lock(service, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    remaining = [
        service.check_code(ZHANG, _wrong(issue.code), CONV)
        for _ in range(settings.max_code_attempts - 1)
    ]
    assert [c.status for c in remaining] == ["wrong"] * (settings.max_code_attempts - 1)
    assert [c.remaining_attempts for c in remaining] == list(
        range(settings.max_code_attempts - 1, 0, -1)
    )
    locked = service.check_code(ZHANG, _wrong(issue.code), CONV)
    assert locked.status == "locked" and locked.remaining_attempts == 0
    assert (locked.locked_until - clock()).total_seconds() == settings.lockout_seconds
    # Locked: even the right code is refused, and no new code is issued.
    assert service.check_code(ZHANG, issue.code, CONV).status == "locked"
    refused = service.issue_code(ZHANG, CONV)
    assert (refused.status, refused.code, refused.retry_at) == ("locked", None, locked.locked_until)


def test_the_lock_ends_and_a_new_code_works(service, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    for _ in range(settings.max_code_attempts):
        last = service.check_code(ZHANG, "000000" if issue.code != "000000" else "111111", CONV)
    assert last.status == "locked"
    clock.advance(seconds=settings.lockout_seconds - 1)
    assert service.issue_code(ZHANG, CONV).status == "locked"
    clock.advance(seconds=1)
    assert service.check_code(ZHANG, issue.code, CONV).status == "expired"  # burnt by the lock
    fresh = service.issue_code(ZHANG, CONV)
    assert fresh.status == "issued"
    first_wrong = service.check_code(ZHANG, _wrong(fresh.code), CONV)
    assert first_wrong.remaining_attempts == settings.max_code_attempts - 1  # count restarted
    assert service.check_code(ZHANG, fresh.code, CONV).status == "ok"


def test_resend_waits_for_the_interval(service, settings, clock) -> None:
    first = service.issue_code(ZHANG, CONV)
    clock.advance(seconds=settings.resend_interval_seconds - 1)
    too_soon = service.issue_code(ZHANG, CONV)
    assert (too_soon.status, too_soon.code) == ("too_soon", None)
    assert too_soon.retry_at == first.retry_at
    clock.advance(seconds=1)
    assert service.issue_code(ZHANG, CONV).status == "issued"


def test_a_new_code_invalidates_the_earlier_one(service, settings, clock) -> None:
    first = service.issue_code(ZHANG, CONV)
    clock.advance(seconds=settings.resend_interval_seconds)
    second = service.issue_code(ZHANG, CONV)
    if first.code != second.code:
        assert service.check_code(ZHANG, first.code, CONV).status == "wrong"
    assert service.check_code(ZHANG, second.code, CONV).status == "ok"


def test_resending_does_not_reset_the_wrong_code_count(service, settings, clock) -> None:
    first = service.issue_code(ZHANG, CONV)
    service.check_code(ZHANG, _wrong(first.code), CONV)
    service.check_code(ZHANG, _wrong(first.code), CONV)
    clock.advance(seconds=settings.resend_interval_seconds)
    second = service.issue_code(ZHANG, CONV)
    after = service.check_code(ZHANG, _wrong(second.code), CONV)
    assert after.remaining_attempts == settings.max_code_attempts - 3


def test_hourly_cap(service, settings, clock) -> None:
    first_at = clock()
    for _ in range(settings.resend_per_hour):
        assert service.issue_code(ZHANG, CONV).status == "issued"
        clock.advance(seconds=settings.resend_interval_seconds)
    capped = service.issue_code(ZHANG, CONV)
    assert (capped.status, capped.code) == ("hourly_limit", None)
    assert (capped.retry_at - first_at).total_seconds() == 3600
    clock.now = capped.retry_at
    assert service.issue_code(ZHANG, CONV).status == "issued"


def test_unknown_numbers_behave_exactly_like_customers(service, settings, clock) -> None:
    def script(phone: str) -> list[tuple]:
        start = clock()
        issue = service.issue_code(phone, CONV)
        answers = [(issue.status, issue.expires_at - start, issue.retry_at - start)]
        answers.append(service.issue_code(phone, CONV).status)
        wrong = service.check_code(phone, _wrong(issue.code), CONV)
        answers.append((wrong.status, wrong.remaining_attempts))
        answers.append(service.check_code(phone, issue.code, CONV).status)
        return answers

    assert script(ZHANG) == script(STRANGER)
    assert service.account(STRANGER) is None


def test_only_a_keyed_hash_of_the_code_is_stored(service, session_factory) -> None:
    issue = service.issue_code(ZHANG, CONV)
    with session_factory.begin() as session:
        challenge = session.execute(select(VerificationChallenge)).scalar_one()
        events = session.execute(select(AuditEvent)).scalars().all()
        assert issue.code not in challenge.code_hash and len(challenge.code_hash) == 64
        assert events and all(issue.code not in str(e.detail) for e in events)
        assert all(e.phone_masked in (None, "138****8000") for e in events)
    assert issue.code not in repr(issue)


def test_the_hash_key_matters(service, session_factory, catalog, settings, clock) -> None:
    issue = service.issue_code(ZHANG, CONV)
    other_key = SubscriptionService(
        session_factory, catalog, replace(settings, verification_hash_key="other"), {}, clock
    )
    assert other_key.check_code(ZHANG, issue.code, CONV).status == "wrong"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", " "])
def test_malformed_codes_are_wrong(service, code: str) -> None:
    service.issue_code(ZHANG, CONV)
    assert service.check_code(ZHANG, code, CONV).status == "wrong"


def test_a_check_without_any_code_is_no_code(service, settings) -> None:
    check = service.check_code(ZHANG, "123456", CONV)
    assert (check.status, check.remaining_attempts) == ("no_code", settings.max_code_attempts)


@pytest.mark.parametrize("phone", ["1380013800", "138001380001", "1380013800a", ""])
def test_phone_numbers_must_be_11_digits(service, phone: str) -> None:
    with pytest.raises(InvalidPhone):
        service.issue_code(phone, CONV)
    with pytest.raises(ValueError):
        service.check_code(phone, "123456", CONV)


def test_conversation_phone_is_the_last_sent_and_never_a_proof(service, settings, clock) -> None:
    assert service.conversation_phone(CONV) is None
    zhang = service.issue_code(ZHANG, CONV)
    assert service.conversation_phone(CONV) == ZHANG
    assert service.session_phone(CONV) is None  # a code sent proves nothing
    assert service.check_code(ZHANG, zhang.code, CONV).status == "ok"
    assert service.session_phone(CONV) == ZHANG
    # A code sent to another number here: the last sent changes, the session does not.
    clock.advance(seconds=settings.resend_interval_seconds)
    stranger = service.issue_code(STRANGER, CONV)
    assert service.conversation_phone(CONV) == STRANGER
    assert service.session_phone(CONV) == ZHANG
    clock.advance(seconds=1)
    assert service.check_code(STRANGER, stranger.code, CONV).status == "ok"
    assert service.session_phone(CONV) == STRANGER
    # Other conversations see none of it.
    assert service.conversation_phone("another") is None
    assert service.session_phone("another") is None


def test_conversation_phone_uses_the_conversation_index(service, session_factory) -> None:
    # Without it, every form step after verification scans a day of codes.
    service.issue_code(ZHANG, CONV)
    with session_factory.begin() as session:
        connection = session.connection()
        for statement in (given_phones._LAST_SENT,):
            sql = str(statement.compile(connection))
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (CONV, 1, 0)).all()
            details = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX ix_verification_challenges_conversation_id" in details, details


def test_withdrawing_forgets_only_this_conversations_unused_code(service, settings, clock) -> None:
    assert not service.withdraw_code(ZHANG, CONV)  # nothing issued yet
    service.issue_code(ZHANG, CONV)
    assert not service.withdraw_code(ZHANG, "another")
    assert service.withdraw_code(ZHANG, CONV)
    assert service.conversation_phone(CONV) is None
    # Withdrawn, it does not count towards the resend interval.
    proved = service.issue_code(ZHANG, CONV)
    assert proved.status == "issued"
    assert service.check_code(ZHANG, proved.code, CONV).status == "ok"
    assert not service.withdraw_code(ZHANG, CONV)  # a proved code stays


def test_a_second_lockout_starts_from_the_second_burnt_code(service, settings, clock) -> None:
    def lock_out() -> None:
        issue = service.issue_code(ZHANG, CONV)
        for _ in range(settings.max_code_attempts):
            last = service.check_code(ZHANG, _wrong(issue.code), CONV)
        assert last.status == "locked"
        assert last.locked_until == clock() + timedelta(seconds=settings.lockout_seconds)

    lock_out()
    clock.advance(seconds=settings.lockout_seconds)
    lock_out()
    clock.advance(seconds=settings.lockout_seconds - 1)
    assert service.issue_code(ZHANG, CONV).status == "locked"


def test_no_lock_row_is_written_any_more(service, settings, session_factory) -> None:
    issue = service.issue_code(ZHANG, CONV)
    for _ in range(settings.max_code_attempts):
        service.check_code(ZHANG, _wrong(issue.code), CONV)
    with session_factory.begin() as session:
        assert session.execute(select(VerificationLock)).scalars().all() == []
