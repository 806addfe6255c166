"""Handoff tickets, SMS records and phone masking (handoff.py, privacy.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import core.store.handoff as handoff_module
from core.references import is_valid_reference
from core.store import InvalidArgument, mask_phone
from core.store.models import AuditEvent, HandoffTicket, SmsMessage

pytest_plugins = ["tests.unit.store_fixtures"]

ZHANG = "13800138000"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "138****8000"),
        ("13600136000", "136****6000"),
        ("1234", "****"),
        (None, None),
    ],
)
def test_mask_phone(phone, masked) -> None:
    assert mask_phone(phone) == masked


def test_a_ticket_stores_the_phone_masked(service, session_factory, clock) -> None:
    ticket = service.open_handoff(
        conversation_id="c1", channel="voice", phone=ZHANG, summary="用户要求转人工"
    )
    assert is_valid_reference(ticket.reference, prefix="RG") and ticket.created_at == clock()
    with session_factory.begin() as session:
        row = session.execute(select(HandoffTicket)).scalar_one()
        assert (row.reference, row.phone_masked, row.status) == (
            ticket.reference,
            "138****8000",
            "open",
        )
        assert (row.channel, row.conversation_id, row.summary) == ("voice", "c1", "用户要求转人工")
        stored = [e.phone_masked for e in session.execute(select(AuditEvent)).scalars()]
        assert stored == ["138****8000"]


def test_a_ticket_without_a_phone(service, session_factory) -> None:
    ticket = service.open_handoff(conversation_id="c2", channel="web", phone=None, summary="")
    with session_factory.begin() as session:
        row = session.execute(
            select(HandoffTicket).where(HandoffTicket.reference == ticket.reference)
        ).scalar_one()
        assert row.phone_masked is None


def test_a_ticket_keeps_any_phone_the_user_gave_masked(service, session_factory) -> None:
    ticket = service.open_handoff(
        conversation_id="c3", channel="ivr", phone="021-5555 1234", summary=""
    )
    with session_factory.begin() as session:
        masked = session.execute(
            select(HandoffTicket.phone_masked).where(HandoffTicket.reference == ticket.reference)
        ).scalar_one()
    assert masked == "021******1234"


def test_many_tickets_have_unique_references(service) -> None:
    references = {
        service.open_handoff(
            conversation_id=f"c{n}", channel="web", phone=None, summary="s"
        ).reference
        for n in range(100)
    }
    assert len(references) == 100


def test_a_ticket_reference_collision_is_retried(service, monkeypatch) -> None:
    first = service.open_handoff(conversation_id="c", channel="web", phone=None, summary="s")
    answers = iter([first.reference, "RG20261124K7M2Q5"])
    monkeypatch.setattr(handoff_module, "new_reference", lambda prefix, day: next(answers))
    second = service.open_handoff(conversation_id="c", channel="web", phone=None, summary="s")
    assert second.reference == "RG20261124K7M2Q5"


def test_record_sms_keeps_no_text_and_masks_the_phone(service, session_factory, clock) -> None:
    service.record_sms(ZHANG, "verification", "sent")
    service.record_sms(ZHANG, "receipt", "failed", error="gateway said no")
    with session_factory.begin() as session:
        rows = [
            (m.phone_masked, m.kind, m.status, m.error, m.created_at)
            for m in session.execute(select(SmsMessage).order_by(SmsMessage.id)).scalars()
        ]
    assert rows == [
        ("138****8000", "verification", "sent", None, clock()),
        ("138****8000", "receipt", "failed", "gateway said no", clock()),
    ]
    assert not hasattr(SmsMessage, "text")


@pytest.mark.parametrize(("kind", "status"), [("marketing", "sent"), ("receipt", "queued")])
def test_record_sms_refuses_unknown_kinds_and_statuses(service, kind, status) -> None:
    with pytest.raises(InvalidArgument):
        service.record_sms(ZHANG, kind, status)


def test_ticket_can_be_read_back_by_reference(service) -> None:
    """An agent finds the ticket by its reference, with the masked phone and the summary."""
    opened = service.open_handoff(
        conversation_id="c9", channel="rest", phone="13800138000", summary="要取消腾讯视频"
    )
    ticket = service.handoff_ticket(opened.reference.lower())
    assert ticket is not None
    assert (ticket.reference, ticket.phone_masked, ticket.summary, ticket.status) == (
        opened.reference,
        "138****8000",
        "要取消腾讯视频",
        "open",
    )
    assert service.handoff_ticket("RG20261124AAAAA0") is None
