"""core.statuses: each status is its string, so the database and the views are unchanged."""

from __future__ import annotations

import json

import pytest

from core.statuses import (
    AccountStatus,
    CancelStatus,
    CodeCheckStatus,
    CodeIssueStatus,
    SmsKind,
    SubscriptionStatus,
    values,
)
from core.store import models


@pytest.mark.parametrize("member", [*SubscriptionStatus, *CodeCheckStatus, *CancelStatus])
def test_a_status_is_its_value_wherever_it_goes(member) -> None:
    assert member == member.value and hash(member) == hash(member.value)
    assert {member.value: 1}[member] == 1 and member in {member.value}
    assert str(member) == f"{member}" == member.value
    assert json.loads(json.dumps({"status": member})) == {"status": member.value}
    assert type(member)(member.value) is member


def test_the_schema_allows_exactly_the_enums_values() -> None:
    assert models.ACCOUNT_STATUSES == ("active", "arrears") == values(AccountStatus)
    assert models.SUBSCRIPTION_STATUSES == ("active", "cancelled")
    assert models.SMS_KINDS == ("verification", "receipt", "refund", "handoff", "other")
    assert values(SmsKind) == models.SMS_KINDS
    assert models.SMS_STATUSES == ("sent", "failed")
    assert models.SESSION_METHODS == ("code", "assertion")


def test_views_read_from_the_store_carry_the_enums(service) -> None:
    account = service.account("13600136000")
    assert account.status is AccountStatus.ARREARS
    statuses = {view.status for view in service.subscriptions("13800138000")}
    assert statuses == {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED}
    assert all(type(status) is SubscriptionStatus for status in statuses)
    assert CodeIssueStatus.READY == "ready"
