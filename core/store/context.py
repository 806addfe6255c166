"""What every service module needs: sessions, settings, partners, the clock, the audit trail."""

from __future__ import annotations

import getpass
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator, Mapping, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.partners.base import PartnerGateway
from core.settings import Settings
from core.store.cipher import PhoneCipher
from core.store.db import Executor, SessionFactory, connection_unit_of_work, unit_of_work
from core.store.models import AuditEvent
from core.store.privacy import check_phone_keys, mask_phone, mask_phones_in_text

_INSERT_AUDIT = insert(AuditEvent.__table__)


@dataclass(frozen=True)
class StoreContext:
    """The collaborators of the service, passed to each of its modules."""

    session_factory: SessionFactory
    settings: Settings
    partners: Mapping[str, PartnerGateway]
    clock: Callable[[], datetime]
    phones: PhoneCipher
    # Set once the keys were checked against a stored account (see check_phone_keys).
    keys_checked: threading.Event = field(
        default_factory=threading.Event, compare=False, repr=False
    )

    def now(self) -> datetime:
        """The current time from the injected clock, checked to be timezone-aware."""
        now = self.clock()
        if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work (commits at the end, rolls back on error); checks the keys first."""
        with unit_of_work(self.session_factory) as session:
            self._check_keys(session)
            yield session

    @contextmanager
    def core_transaction(self) -> Iterator[Executor]:
        """transaction() for work in Core statements only (no ORM objects): cheaper to open."""
        with connection_unit_of_work(self.session_factory) as executor:
            self._check_keys(executor)
            yield executor

    def _check_keys(self, executor: Executor) -> None:
        if not self.keys_checked.is_set() and check_phone_keys(executor, self.phones):
            self.keys_checked.set()

    def local_day(self, moment: datetime) -> date:
        """The calendar date of `moment` where users live (settings.timezone)."""
        return moment.astimezone(ZoneInfo(self.settings.timezone)).date()


def audit(
    session: Executor,
    *,
    at: datetime,
    action: str,
    conversation_id: Optional[str] = None,
    channel: Optional[str] = None,
    phone: Optional[str] = None,
    detail: Optional[Mapping[str, Any]] = None,
) -> None:
    """Adds an audit event to the session's transaction; the phone is stored masked.

    A channel may use the caller's number as the conversation id (SMS, IVR): any mobile
    number in the id or in a text value of `detail` is masked too.
    """
    # A Core insert, run now: an ORM object would cost a unit-of-work flush for a row that is
    # never read back (append-only, nothing refers to it).
    session.execute(
        _INSERT_AUDIT,
        {
            "at": at,
            "conversation_id": mask_phones_in_text(conversation_id) if conversation_id else None,
            "channel": channel,
            "action": action,
            "phone_masked": mask_phone(phone),
            "detail": {key: _masked(value) for key, value in (detail or {}).items()},
        },
    )


def _masked(value: Any) -> Any:
    return mask_phones_in_text(value) if isinstance(value, str) else value


def operator_name() -> str:
    """Who runs a command-line tool, for its audit row: AUDIT_OPERATOR, else the OS user."""
    # getpass reads LOGNAME/USER first; in a container there may be no such user at all.
    try:
        return os.environ.get("AUDIT_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
