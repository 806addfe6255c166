"""What every service module needs: sessions, settings, partners, the clock, the audit trail."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Mapping, Optional
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from actions.partners.base import PartnerGateway
from actions.settings import Settings
from actions.store.db import SessionFactory, unit_of_work
from actions.store.models import AuditEvent
from actions.store.privacy import mask_phone


@dataclass(frozen=True)
class StoreContext:
    """The collaborators of the service, passed to each of its modules."""

    session_factory: SessionFactory
    settings: Settings
    partners: Mapping[str, PartnerGateway]
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        """The current time from the injected clock, checked to be timezone-aware."""
        now = self.clock()
        if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now

    def transaction(self) -> AbstractContextManager[Session]:
        """One unit of work (commits at the end, rolls back on error)."""
        return unit_of_work(self.session_factory)

    def local_day(self, moment: datetime) -> date:
        """The calendar date of `moment` where users live (settings.timezone)."""
        return moment.astimezone(ZoneInfo(self.settings.timezone)).date()


def audit(
    session: Session,
    *,
    at: datetime,
    action: str,
    conversation_id: Optional[str] = None,
    channel: Optional[str] = None,
    phone: Optional[str] = None,
    detail: Optional[Mapping[str, Any]] = None,
) -> None:
    """Adds an audit event to the session's transaction; the phone is stored masked."""
    session.add(
        AuditEvent(
            at=at,
            conversation_id=conversation_id,
            channel=channel,
            action=action,
            phone_masked=mask_phone(phone),
            detail=dict(detail or {}),
        )
    )
