"""Everything held about one phone number: finding it, exporting it, deleting what may go.

《个人信息保护法》第四十五条 (查阅、复制) and 第四十七条 (删除); the command line is
core/store/subject_rights.py and docs/privacy.md says what is exported, deleted and kept.

Tables are found by their columns, not by name: every table with a `phone_index` holds the
number (encrypted, with its blind index), so a table added later is covered without a change
here. Conversations count as the subject's only where the number was proved in them (a
verified session, a code entered correctly, a cancellation or refund case, the number's own
SMS conversation): a conversation where someone merely typed the number may be a stranger's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Mapping, Optional

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Connection

from core.phone import mask_phone
from core.statuses import SubscriptionStatus
from core.store.cipher import PhoneCipher
from core.store.db import Executor
from core.store.errors import StoreError
from core.store.models import (
    Account,
    AuditEvent,
    Cancellation,
    Charge,
    HandoffTicket,
    Product,
    RefundCase,
    SmsMessage,
    Subscription,
    metadata,
)
from core.store.privacy import normalize_phone, phone_index
from core.store.tracker_retention import conversation_events, delete_conversations

ERASED_NAME = "（已删除）"
# What stays after a deletion, and why: given to the person with their export.
KEPT_AFTER_DELETION = (
    {
        "data": "取消记录（受理单号 TD…、取消时间、渠道、权益到期日）",
        "why": "这是您办理取消的凭证，也是运营商的计费记录；"
        "删除后不再与您的号码或对话关联，原因文字已清空。",
    },
    {
        "data": "会员、扣费和退款工单记录（RF…）",
        "why": "运营商的计费与资金记录，按其保存要求保留（期限由合规部门确定）；"
        "删除后不再与您的号码关联。",
    },
    {
        "data": "转人工工单号（RG…）",
        "why": "客服工作记录；对话摘要已清空，只保留打码号码（如138****8000）。",
    },
    {
        "data": "安全审计日志",
        "why": "只保存打码号码，只追加不修改，用于日后核查谁在何时做了什么；"
        "本次删除本身也记入其中。",
    },
    {
        "data": "短信发送记录（类型、是否成功、时间）",
        "why": "只有打码号码，无法单独识别您；错误信息文字已清空。90天后自动删除。",
    },
)
_MATCHED_BY_MASK = (
    "sms_log and audit_events hold only the masked number (first 3 and last 4 digits): their "
    "rows are matched by it and may include another number with the same mask"
)


# Tables whose rows only say that someone typed the number in a conversation.
_MERELY_GIVEN = frozenset({"conversation_phones"})


class ActiveMemberships(StoreError):
    """The number still has auto-renewing memberships: they are cancelled first."""


@dataclass(frozen=True)
class Subject:
    """One phone number and what the store links to it."""

    phone: str
    index: str
    account_id: Optional[int]
    subscription_ids: List[int]
    charge_ids: List[int]
    # Conversations where the number was proved (see the module docstring).
    conversations: List[str]
    # Conversations where the number was only given, or a code only asked for it.
    asked_in: List[str] = field(default_factory=list)

    @property
    def masked(self) -> str:
        """The number as audit rows and the SMS log keep it."""
        return mask_phone(self.phone) or ""


def phone_tables() -> List[Table]:
    """Every table that keeps a phone as phone_ciphertext and phone_index."""
    return [
        t for t in metadata.sorted_tables if {"phone_index", "phone_ciphertext"} <= set(t.c.keys())
    ]


def _is_secret(column: str) -> bool:
    # Never exported: the encrypted number, its blind index, code hashes and keyed hashes.
    return column in ("phone_ciphertext", "phone_index") or column.endswith(("_hash", "_key"))


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(session: Executor, statement: Any) -> List[Dict[str, Any]]:
    return [
        {key: _plain(value) for key, value in row.items() if not _is_secret(key)}
        for row in session.execute(statement).mappings()
    ]


def find_subject(
    session: Executor, cipher: PhoneCipher, phone: str, own_conversations: Iterable[str] = ()
) -> Subject:
    """The subject of `phone`; `own_conversations` are ids known to be the number's own
    (its SMS conversation)."""
    phone = normalize_phone(phone)
    index = phone_index(cipher, phone)
    account_id = session.execute(
        select(Account.id).where(Account.phone_index == index)
    ).scalar_one_or_none()
    subscription_ids = list(
        session.execute(select(Subscription.id).where(Subscription.account_id == account_id))
        .scalars()
        .all()
    )
    charge_ids = list(
        session.execute(select(Charge.id).where(Charge.subscription_id.in_(subscription_ids)))
        .scalars()
        .all()
    )
    proved = set(own_conversations)
    proved.update(
        session.execute(
            select(Cancellation.conversation_id).where(
                Cancellation.subscription_id.in_(subscription_ids)
            )
        ).scalars()
    )
    proved.update(
        session.execute(
            select(RefundCase.conversation_id).where(RefundCase.charge_id.in_(charge_ids))
        ).scalars()
    )
    asked = set()
    for table in phone_tables():
        if "conversation_id" not in table.c:
            continue
        rows = session.execute(select(table).where(table.c.phone_index == index)).mappings()
        for row in rows:
            # A challenge proves the number once its code was entered (consumed) correctly;
            # a session exists only once it was proved; a number given proves nothing.
            if table.name in _MERELY_GIVEN or (
                table.name == "verification_challenges" and not _proved_challenge(row)
            ):
                asked.add(row["conversation_id"])
            else:
                proved.add(row["conversation_id"])
    proved.discard("")
    return Subject(
        phone=phone,
        index=index,
        account_id=account_id,
        subscription_ids=subscription_ids,
        charge_ids=charge_ids,
        conversations=sorted(proved),
        asked_in=sorted(asked - proved),
    )


def _proved_challenge(row: Mapping[str, Any]) -> bool:
    # Only a correct code consumes a challenge (a burnt one just expires).
    return row.get("consumed_at") is not None


def export_subject(
    session: Executor, subject: Subject, tracker: Optional[Connection] = None
) -> Dict[str, Any]:
    """Everything held about the subject, as JSON-ready data (never a hash or a key)."""
    account = None
    if subject.account_id is not None:
        account = _rows(session, select(Account.__table__).where(Account.id == subject.account_id))[
            0
        ]
        account["phone"] = subject.phone
    subscriptions = Subscription.__table__
    data: Dict[str, Any] = {
        "subject": {"phone": subject.phone, "phone_masked": subject.masked},
        "account": account,
        "subscriptions": _rows(
            session,
            select(subscriptions, Product.name.label("product_name"))
            .join(Product.__table__, Product.id == subscriptions.c.product_id)
            .where(subscriptions.c.id.in_(subject.subscription_ids))
            .order_by(subscriptions.c.id),
        ),
        "charges": _rows(
            session,
            select(Charge.__table__).where(Charge.id.in_(subject.charge_ids)).order_by(Charge.id),
        ),
        "cancellations": _rows(
            session,
            select(Cancellation.__table__)
            .where(Cancellation.subscription_id.in_(subject.subscription_ids))
            .order_by(Cancellation.id),
        ),
        "refund_cases": _rows(
            session,
            select(RefundCase.__table__)
            .where(RefundCase.charge_id.in_(subject.charge_ids))
            .order_by(RefundCase.id),
        ),
        "handoff_tickets": _rows(
            session,
            select(HandoffTicket.__table__)
            .where(HandoffTicket.conversation_id.in_(subject.conversations))
            .order_by(HandoffTicket.id),
        ),
    }
    for table in phone_tables():
        if table.name != Account.__tablename__:
            data[table.name] = _rows(
                session,
                select(table).where(table.c.phone_index == subject.index).order_by(table.c.id),
            )
    data["sms_log"] = _rows(
        session,
        select(SmsMessage.__table__)
        .where(SmsMessage.phone_masked == subject.masked)
        .order_by(SmsMessage.id),
    )
    data["audit_events"] = _rows(
        session,
        select(AuditEvent.__table__)
        .where(AuditEvent.phone_masked == subject.masked)
        .order_by(AuditEvent.id),
    )
    data["conversations"] = {
        "ids": subject.conversations,
        "codes_requested_in": subject.asked_in,
        "tracker_events": None
        if tracker is None
        else conversation_events(tracker, subject.conversations),
    }
    data["kept_after_deletion"] = list(KEPT_AFTER_DELETION)
    data["notes"] = [_MATCHED_BY_MASK]
    if tracker is None:
        data["notes"].append(
            "the tracker store was not configured: conversation texts not included"
        )
    return data


def count_export(data: Mapping[str, Any]) -> Dict[str, int]:
    """How many records each section of an export holds (for the audit row)."""
    counts = {}
    for key, value in data.items():
        if isinstance(value, list) and key not in ("kept_after_deletion", "notes"):
            counts[key] = len(value)
    counts["account"] = int(data.get("account") is not None)
    counts["conversations"] = len(data["conversations"]["ids"])
    return counts


def active_memberships(session: Executor, subject: Subject) -> int:
    """How many of the subject's memberships we bill still renew automatically (an App
    Store one renews at Apple, and only the person can stop it there)."""
    return session.execute(
        select(func.count())
        .select_from(Subscription)
        .where(
            Subscription.id.in_(subject.subscription_ids),
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.auto_renew.is_(True),
            Subscription.billing_channel != "app_store",
        )
    ).scalar_one()


def delete_subject(
    session: Executor,
    cipher: PhoneCipher,
    subject: Subject,
    tracker: Optional[Connection] = None,
    dry_run: bool = False,
) -> Dict[str, int]:
    """Deletes or anonymises what may go (counts only when `dry_run`); raises
    ActiveMemberships while a membership still renews, before changing anything."""
    active = active_memberships(session, subject)
    if active:
        raise ActiveMemberships(f"{active} membership(s) still renew automatically")
    counts: Dict[str, int] = {}

    def run(key: str, statement: Any, counting: Any) -> None:
        counts[key] = (
            session.execute(select(func.count()).select_from(counting)).scalar_one()
            if dry_run
            else session.execute(statement).rowcount
        )

    accounts = Account.__table__
    for table in phone_tables():
        where = table.c.phone_index == subject.index
        if table is accounts:
            continue
        run(table.name, delete(table).where(where), select(table).where(where).subquery())
    if subject.account_id is not None:
        counts["accounts_anonymised"] = 1
        if not dry_run:
            # The account row stays for its memberships and charges; the number becomes a
            # random tombstone, encrypted and indexed like a number, so no look-up finds it
            # and the key check (privacy.check_phone_keys) still holds for the row.
            tombstone = f"erased-{secrets.token_hex(12)}"
            session.execute(
                update(accounts)
                .where(accounts.c.id == subject.account_id)
                .values(
                    phone_ciphertext=cipher.encrypt(tombstone),
                    phone_index=cipher.index(tombstone),
                    holder_name=ERASED_NAME,
                )
            )
    cancellations = Cancellation.__table__
    ids = (
        session.execute(
            select(cancellations.c.id).where(
                cancellations.c.subscription_id.in_(subject.subscription_ids)
            )
        )
        .scalars()
        .all()
    )
    counts["cancellations_unlinked"] = len(ids)
    for cancellation_id in [] if dry_run else ids:
        # The idempotency key is "<conversation id>:<subscription id>": a link to go too.
        session.execute(
            update(cancellations)
            .where(cancellations.c.id == cancellation_id)
            .values(conversation_id="", reason=None, idempotency_key=f"erased:{cancellation_id}")
        )
    refunds = RefundCase.__table__
    mine = refunds.c.charge_id.in_(subject.charge_ids)
    run(
        "refund_cases_unlinked",
        update(refunds).where(mine).values(conversation_id="", reason=""),
        select(refunds).where(mine).subquery(),
    )
    tickets = HandoffTicket.__table__
    mine = tickets.c.conversation_id.in_(subject.conversations)
    run(
        "handoff_summaries_cleared",
        update(tickets).where(mine).values(summary="", conversation_id=""),
        select(tickets).where(mine).subquery(),
    )
    sms = SmsMessage.__table__
    mine = (sms.c.phone_masked == subject.masked) & sms.c.error.is_not(None)
    run(
        "sms_log_errors_cleared",
        update(sms).where(mine).values(error=None),
        select(sms).where(mine).subquery(),
    )
    if tracker is not None:
        pruned = delete_conversations(tracker, subject.conversations, dry_run)
        counts["tracker_conversations"] = pruned.conversations
        counts["tracker_events"] = pruned.events
    return counts
