"""Every action tells the user the truth when the store is down, and never crashes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

import actions.cancellation
import actions.handoff
import actions.identity
import actions.information
import actions.refunds
import actions.subscriptions
import actions.verification
from core.store.errors import StoreUnavailable
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses, verified_slots

MODULES = (
    actions.cancellation,
    actions.handoff,
    actions.identity,
    actions.information,
    actions.refunds,
    actions.subscriptions,
    actions.verification,
)
ACTIONS = sorted(
    {
        cls
        for module in MODULES
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, Action) and cls.__module__ == module.__name__
    },
    key=lambda cls: cls.__name__,
)
# The actions that read or write the store for a verified user; the others never touch it.
NEEDS_THE_STORE = {
    "ActionAfterIdentity",
    "ActionAskCancelConfirmed",
    "ActionAskSubscriptionId",
    "ActionCancelSubscription",
    "ActionCheckSubscriptions",
    "ActionHandoff",
    "ActionQueryCancellation",
    "ActionResendCode",
    "ActionReviewCharges",
}


def test_every_action_class_is_covered() -> None:
    """Every plain action of the package is tried, the store users among them."""
    assert {cls.__name__ for cls in ACTIONS} >= NEEDS_THE_STORE
    assert len(ACTIONS) >= 14


@pytest.mark.parametrize("action", ACTIONS, ids=lambda cls: cls.__name__)
def test_an_outage_is_told_not_raised(runtime, monkeypatch, action) -> None:
    """With every store call failing, the action says 系统繁忙 (or nothing) and returns."""
    slots = verified_slots(runtime, subscription_id="1", cancel_confirmed=True)

    def down(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("database is down")

    for name in dir(runtime.store):
        if not name.startswith("_") and callable(getattr(runtime.store, name)):
            monkeypatch.setattr(runtime.store, name, down)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=slots, intent="affirm", text="确认取消", active_loop="cancel_form")
    events = asyncio.run(action().run(dispatcher, tracker, {}))
    assert isinstance(events, list)
    said = responses(dispatcher)
    if action.__name__ in NEEDS_THE_STORE:
        assert "utter_system_busy" in said, said
    # Nothing may claim that something happened.
    assert not {"utter_cancelled", "utter_verified", "utter_handoff", "utter_code_sent"} & set(
        said
    ), said
