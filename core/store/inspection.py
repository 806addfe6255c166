"""Read-only views of what the store holds for some numbers, for checks that compare before
and after a turn (the invariant tests): cancellations, memberships, refund cases, tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Tuple

from sqlalchemy import select

from core.store.context import StoreContext
from core.store.models import (
    Account,
    Cancellation,
    HandoffTicket,
    RefundCase,
    Subscription,
)
from core.store.privacy import phone_index


@dataclass(frozen=True)
class StoreState:
    """Cancellations and membership states of some numbers; every refund case and ticket."""

    # reference -> subscription id, for the numbers' memberships
    cancellations: Mapping[str, int]
    # subscription id -> (status, auto_renew), for the numbers' memberships
    subscriptions: Mapping[int, Tuple[str, bool]]
    # reference -> conversation id, over the whole store
    refund_cases: Mapping[str, str]
    # reference -> conversation id, over the whole store
    tickets: Mapping[str, str]


def store_state(ctx: StoreContext, phones: Iterable[str]) -> StoreState:
    """What the store holds now for `phones` (and every refund case and ticket)."""
    indexes = [phone_index(ctx.phones, phone) for phone in phones]
    with ctx.transaction() as session:
        subs = session.execute(
            select(Subscription.id, Subscription.status, Subscription.auto_renew)
            .join(Account, Account.id == Subscription.account_id)
            .where(Account.phone_index.in_(indexes))
        ).all()
        ids = [row.id for row in subs]
        cancels = session.execute(
            select(Cancellation.reference, Cancellation.subscription_id).where(
                Cancellation.subscription_id.in_(ids)
            )
        ).all()
        refunds = session.execute(select(RefundCase.reference, RefundCase.conversation_id)).all()
        tickets = session.execute(
            select(HandoffTicket.reference, HandoffTicket.conversation_id)
        ).all()
    return StoreState(
        cancellations={row.reference: row.subscription_id for row in cancels},
        subscriptions={row.id: (row.status, bool(row.auto_renew)) for row in subs},
        refund_cases={row.reference: row.conversation_id for row in refunds},
        tickets={row.reference: row.conversation_id for row in tickets},
    )
