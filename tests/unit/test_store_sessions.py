"""Identity owned by the store: verified sessions, and the ceilings on codes (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.identity import assertion
from core.store import SubscriptionService
from core.store.models import AuditEvent, VerifiedSession

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG = "13800138000"
LI = "13900139000"
SMS_CONV = "sms:hash-of-zhang"
IVR_CONV = "ivr:call-1"
WEB_CONV = "web:session-1"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _prove(service: SubscriptionService, conversation: str, phone: str = ZHANG) -> None:
    issue = service.issue_code(phone, conversation)
    assert issue.status == "issued", issue
    assert service.check_code(phone, issue.code, conversation).status == "ok"


def _token(service, clock, conversation=SMS_CONV, phone=ZHANG, source="sms_sender", **kw) -> str:
    key = kw.pop("key", service.settings.channel_assertion_key)
    now = kw.pop("now", clock().timestamp())
    return assertion.sign(key, conversation_id=conversation, phone=phone, source=source, now=now)


def _sessions(session_factory) -> list:
    with session_factory.begin() as session:
        return [
            (r.conversation_id, r.channel, r.method)
            for r in session.execute(select(VerifiedSession)).scalars()
        ]


# --- sessions -------------------------------------------------------------------------------


def test_a_checked_code_opens_a_session_for_its_conversation_only(service, session_factory):
    assert service.session_phone(WEB_CONV) is None
    _prove(service, WEB_CONV)
    assert service.session_phone(WEB_CONV) == ZHANG
    assert service.session_phone("web:another") is None
    assert service.session_phone("rest:session-1") is None
    assert _sessions(session_factory) == [(WEB_CONV, "web", "code")]


def test_a_wrong_or_missing_code_opens_nothing(service, session_factory):
    issue = service.issue_code(ZHANG, WEB_CONV)
    assert service.check_code(ZHANG, _wrong(issue.code), WEB_CONV).status == "wrong"
    assert service.check_code(ZHANG, issue.code, "web:other").status == "no_code"
    assert service.session_phone(WEB_CONV) is None
    assert _sessions(session_factory) == []


def test_an_old_conversation_id_has_no_channel(service, session_factory):
    _prove(service, "test-user")
    assert _sessions(session_factory) == [("test-user", None, "code")]


def test_the_session_ends_after_the_idle_time_and_use_keeps_it(service, settings, clock):
    _prove(service, WEB_CONV)
    idle = settings.verified_idle_seconds
    clock.advance(seconds=idle)
    assert service.session_phone(WEB_CONV) == ZHANG  # used: refreshed
    clock.advance(seconds=idle)
    assert service.session_phone(WEB_CONV) == ZHANG
    clock.advance(seconds=idle + 1)
    assert service.session_phone(WEB_CONV) is None
    clock.advance(seconds=-idle)  # ended for good, not just hidden
    assert service.session_phone(WEB_CONV) is None


def test_a_use_refreshes_the_session_at_most_every_touch_interval(
    service, settings, clock, session_factory
):
    """Reads within TOUCH_AFTER of the last refresh write nothing; the session then ends
    at most TOUCH_AFTER before idle time after the very last use, never after."""
    from core.store.sessions import TOUCH_AFTER

    _prove(service, WEB_CONV)
    idle = settings.verified_idle_seconds
    step = min(TOUCH_AFTER.total_seconds(), idle / 10)

    def last_seen():
        with session_factory.begin() as session:
            return session.execute(select(VerifiedSession.last_seen_at)).scalar_one()

    proved_at = last_seen()
    clock.advance(seconds=step - 1)
    assert service.session_phone(WEB_CONV) == ZHANG
    assert last_seen() == proved_at  # not written: too soon
    clock.advance(seconds=idle - step + 1)
    assert service.session_phone(WEB_CONV) == ZHANG  # exactly idle after the proof
    clock.advance(seconds=idle)
    assert service.session_phone(WEB_CONV) == ZHANG  # the last read refreshed it
    clock.advance(seconds=idle + 1)
    assert service.session_phone(WEB_CONV) is None


def test_ending_a_session(service, session_factory):
    _prove(service, WEB_CONV)
    _prove(service, "web:other")
    assert service.end_session(WEB_CONV, "restart")
    assert not service.end_session(WEB_CONV)
    assert service.session_phone(WEB_CONV) is None
    assert service.session_phone("web:other") == ZHANG
    with session_factory.begin() as session:
        actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "session_ended" in actions


def test_sessions_keep_the_phone_encrypted(service, engine, plain_phones):
    _prove(service, WEB_CONV)
    service.open_session_from_assertion(SMS_CONV, _token(service, service._ctx.clock))
    assert plain_phones(engine, (ZHANG,)) == []


# --- channel assertions ---------------------------------------------------------------------


def test_an_sms_sender_assertion_opens_a_session(service, clock, session_factory):
    assert service.open_session_from_assertion(SMS_CONV, _token(service, clock)) == ZHANG
    assert service.session_phone(SMS_CONV) == ZHANG
    assert _sessions(session_factory) == [(SMS_CONV, "sms", "assertion")]


@pytest.mark.parametrize(
    "make",
    [
        lambda s, c: _token(s, c, key="a-key-the-attacker-chose"),  # forged
        lambda s, c: _token(s, c, now=c().timestamp() - assertion.MAX_AGE_SECONDS - 1),  # stale
        lambda s, c: _token(s, c, conversation="sms:someone-else"),  # another conversation
        lambda s, c: _token(s, c, conversation=IVR_CONV, source="caller_id"),  # only a number
        lambda s, c: "v1.e30.AAAA",  # malformed
        lambda s, c: {"phone": ZHANG, "source": "sms_sender"},  # the old metadata.identity
        lambda s, c: None,
    ],
)
def test_no_other_assertion_opens_a_session(service, clock, session_factory, make):
    token = make(service, clock)
    assert service.open_session_from_assertion(SMS_CONV, token) is None
    assert service.open_session_from_assertion(IVR_CONV, token) is None
    assert _sessions(session_factory) == []


def test_a_caller_id_assertion_proves_nothing(service, clock, session_factory):
    token = _token(service, clock, conversation=IVR_CONV, source="caller_id")
    assert service.open_session_from_assertion(IVR_CONV, token) is None
    assert _sessions(session_factory) == []


# --- abuse: wrong codes and ceilings ----------------------------------------------------------


def test_a_strangers_wrong_codes_never_stop_the_holder(service, settings):
    """Five wrong codes in conversation A lock A only; the holder verifies in conversation B."""
    stranger = service.issue_code(ZHANG, "rest:attacker")
    for _ in range(settings.max_code_attempts):
        last = service.check_code(ZHANG, _wrong(stranger.code), "rest:attacker")
    assert last.status == "locked"
    assert service.issue_code(ZHANG, "rest:attacker").status == "locked"
    holder = service.issue_code(ZHANG, WEB_CONV)
    assert holder.status == "issued"
    assert service.check_code(ZHANG, holder.code, WEB_CONV).status == "ok"
    assert service.session_phone(WEB_CONV) == ZHANG
    assert service.session_phone("rest:attacker") is None


def test_codes_of_two_conversations_do_not_cancel_each_other(service):
    mine = service.issue_code(ZHANG, WEB_CONV)
    theirs = service.issue_code(ZHANG, "rest:attacker")  # no "too soon" across conversations
    assert theirs.status == "issued"
    assert service.check_code(ZHANG, mine.code, WEB_CONV).status == "ok"


def test_the_numbers_hourly_ceiling_counts_every_conversation(service, settings, clock):
    first_at = clock()
    for i in range(settings.codes_per_hour):
        assert service.issue_code(ZHANG, f"rest:c{i}").status == "issued"
        clock.advance(seconds=1)
    capped = service.issue_code(ZHANG, "rest:another")
    assert (capped.status, capped.code) == ("hourly_limit", None)
    assert capped.retry_at == first_at + timedelta(hours=1)
    assert service.issue_code(LI, "rest:another").status == "issued"  # other numbers unaffected
    clock.now = capped.retry_at
    assert service.issue_code(ZHANG, "rest:another").status == "issued"


def test_the_numbers_daily_ceiling(service, settings, clock):
    first_at = clock()
    for i in range(settings.codes_per_day):
        assert service.issue_code(ZHANG, f"rest:c{i}").status == "issued", i
        clock.advance(minutes=61 if i % settings.codes_per_hour == 4 else 1)
    capped = service.issue_code(ZHANG, "rest:another")
    assert (capped.status, capped.code) == ("daily_limit", None)
    assert capped.retry_at == first_at + timedelta(days=1)
    clock.now = capped.retry_at
    assert service.issue_code(ZHANG, "rest:another").status == "issued"


def test_codes_per_hour_reads_the_old_setting_as_fallback():
    from core.settings import Settings

    assert Settings.from_env({"RESEND_PER_HOUR": "3"}).codes_per_hour == 3
    assert Settings.from_env({"RESEND_PER_HOUR": "3", "CODES_PER_HOUR": "4"}).codes_per_hour == 4
    assert Settings.from_env({}).codes_per_day == 10
    assert "channel_assertion_key" not in repr(Settings.from_env({"CHANNEL_ASSERTION_KEY": "s"}))
    assert Settings.from_env({"CHANNEL_ASSERTION_KEY": "s"}).channel_assertion_key == "s"


def test_one_conversation_has_its_own_ceiling_across_numbers(service, settings, clock):
    phones = [f"1370000{i:04d}" for i in range(settings.conversation_codes_per_hour + 1)]
    for phone in phones[:-1]:
        assert service.issue_code(phone, WEB_CONV).status == "issued"
        clock.advance(seconds=1)
    assert service.issue_code(phones[-1], WEB_CONV).status == "source_limit"
    assert service.issue_code(phones[-1], "web:other").status == "issued"


def test_one_conversations_daily_ceiling(service, settings, clock):
    tight = replace(settings, conversation_codes_per_hour=100, conversation_codes_per_day=3)
    service = SubscriptionService(
        service.session_factory, service.catalog, tight, {}, service._ctx.clock
    )
    for i in range(3):
        assert service.issue_code(f"1370000{i:04d}", WEB_CONV).status == "issued"
        clock.advance(hours=2)
    assert service.issue_code("13700009999", WEB_CONV).status == "source_limit"


def test_one_client_has_a_ceiling_across_its_conversations(service, settings, clock):
    most = settings.client_codes_per_hour
    for i in range(most):
        issue = service.issue_code(f"1370000{i:04d}", f"rest:c{i}", client_key="client-a")
        assert issue.status == "issued"
        clock.advance(seconds=1)
    assert service.issue_code(LI, "rest:new", client_key="client-a").status == "source_limit"
    assert service.issue_code(LI, "rest:new", client_key="client-b").status == "issued"
    clock.advance(seconds=settings.resend_interval_seconds)
    assert service.issue_code(LI, "rest:newer").status == "issued"  # no key: conversation only


def test_a_clients_daily_ceiling(service, settings, clock):
    tight = replace(settings, client_codes_per_hour=100, client_codes_per_day=2)
    service = SubscriptionService(
        service.session_factory, service.catalog, tight, {}, service._ctx.clock
    )
    for i in range(2):
        assert service.issue_code(f"1370000{i:04d}", f"rest:c{i}", client_key="k").status == (
            "issued"
        )
        clock.advance(hours=3)
    assert service.issue_code(LI, "rest:c9", client_key="k").status == "source_limit"


def test_the_callers_own_line_still_works_at_the_numbers_ceiling(service, settings, clock):
    """Strangers used up the number's codes; a call from that number gets its own ceiling."""
    for i in range(settings.codes_per_hour):
        assert service.issue_code(ZHANG, f"rest:attacker{i}").status == "issued"
        clock.advance(seconds=1)
    assert service.issue_code(ZHANG, "rest:holder").status == "hourly_limit"
    own = service.issue_code(ZHANG, IVR_CONV, "ivr", own_line=True)
    assert own.status == "issued"
    assert service.check_code(ZHANG, own.code, IVR_CONV).status == "ok"
    # The own line's ceiling is its own: the strangers' codes did not count towards it ...
    for i in range(settings.own_line_codes_per_hour - 1):
        clock.advance(seconds=settings.resend_interval_seconds)
        assert service.issue_code(ZHANG, f"ivr:call{i}", own_line=True).status == "issued"
    clock.advance(seconds=settings.resend_interval_seconds)
    assert service.issue_code(ZHANG, "ivr:call-x", own_line=True).status == "hourly_limit"


def test_the_sms_sender_needs_no_code_at_the_ceiling(service, settings, clock):
    for i in range(settings.codes_per_day):
        service.issue_code(ZHANG, f"rest:attacker{i}")
        clock.advance(minutes=13)
    assert service.issue_code(ZHANG, "rest:holder").status in ("hourly_limit", "daily_limit")
    assert service.open_session_from_assertion(SMS_CONV, _token(service, clock)) == ZHANG


def test_each_sms_turn_refreshes_the_same_session(service, clock, session_factory):
    """Every SMS turn carries a new assertion: one session, opened (and audited) once."""
    assert service.open_session_from_assertion(SMS_CONV, _token(service, clock)) == ZHANG
    clock.advance(seconds=service.settings.verified_idle_seconds)
    assert service.open_session_from_assertion(SMS_CONV, _token(service, clock)) == ZHANG
    clock.advance(seconds=service.settings.verified_idle_seconds)
    assert service.session_phone(SMS_CONV) == ZHANG  # the second turn refreshed it
    with session_factory.begin() as session:
        actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert actions.count("session_opened") == 1
    assert _sessions(session_factory) == [(SMS_CONV, "sms", "assertion")]
