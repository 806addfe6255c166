"""Answers that need no identity: the ways to cancel, and what cancelling means."""

from __future__ import annotations

import re
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.holder import touch_verification
from actions.memberships import current_subscription, subscription_details
from actions.outage import store_safe
from actions.proxy import PROXY_SLOT, asks_about_acting, proxy_answer
from actions.runtime import get_runtime
from core.store.errors import StoreUnavailable

# Words that show the question is about a third party's auto-debit settings.
THIRD_PARTY = re.compile(r"支付宝|微信|苹果|iphone|ios|app\s*store|appstore", re.IGNORECASE)


class ActionCancelMethods(Action):
    """Every channel that cancels a membership, with the operator's configured numbers."""

    def name(self) -> str:
        """Action name."""
        return "action_cancel_methods"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Operator channels, plus the third-party steps when the question is about them."""
        settings = get_runtime().settings
        # Asked for someone else ("能帮机主退订吗"): the ways the holder's consent opens.
        events = [SlotSet(PROXY_SLOT, True)] if proxy_answer(tracker, dispatcher) else []
        if not events:
            dispatcher.utter_message(
                response="utter_cancel_methods",
                hotline=settings.operator_hotline,
                sms_number=settings.cancel_sms_number,
                sms_keyword=settings.cancel_sms_keyword,
            )
        text = tracker.latest_message.get("text") or ""
        if THIRD_PARTY.search(text):
            dispatcher.utter_message(response="utter_third_party_methods")
        return events


class ActionExplainConsequences(Action):
    """What happens after cancelling, for the selected membership when there is one."""

    def name(self) -> str:
        """Action name."""
        return "action_explain_consequences"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """General rules, then the dates of the membership being cancelled."""
        # "子女可以帮父母取消会员吗" is a question whether they may, not what cancelling does.
        if asks_about_acting(tracker.latest_message.get("text") or ""):
            proxy_answer(tracker, dispatcher)
            return [SlotSet(PROXY_SLOT, True)]
        runtime = get_runtime()
        dispatcher.utter_message(
            response="utter_consequences_general",
            refund_days=runtime.settings.refund_window_days,
        )
        try:
            sub = current_subscription(tracker, runtime)
        except StoreUnavailable:
            sub = None
        if sub is not None:
            dispatcher.utter_message(
                response="utter_consequences_specific", **subscription_details(sub, runtime)
            )
        return touch_verification(tracker, runtime)
