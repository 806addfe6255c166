"""The holder's memberships as the actions use them: which can be picked, which is selected,
the template variables that describe one, and a cancellation looked up by its reference."""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import phrases
from actions.holder import verified_phone
from actions.runtime import Runtime
from core.phone import mask_phone
from core.references import is_valid_reference, normalize_reference
from core.statuses import SubscriptionStatus


def product_code(name: str, runtime: Runtime) -> Optional[str]:
    """The product code of a membership as the dialogue names it (the `service` entity keeps
    the contract's Chinese canonical names; the store keys memberships by code), or None."""
    return product_codes(runtime).get(name)


def product_codes(runtime: Runtime) -> Dict[str, str]:
    """Every membership's canonical name (as the `service` entity gives it) to its code."""
    return {product.name: product.code for product in runtime.store.catalog.products}


def active_choices(runtime: Runtime, phone: str) -> list:
    """The memberships a user can pick from: the active ones, in the listed order."""
    return [s for s in runtime.store.subscriptions(phone) if s.status == SubscriptionStatus.ACTIVE]


def subscription_details(sub: Any, runtime: Runtime) -> Dict[str, str]:
    """The template variables describing one membership."""
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    return {
        "service": sub.product_name,
        "plan": sub.plan_name,
        "price": phrases.price_per_period(sub.price, sub.period),
        "billing": phrases.BILLING_LABELS.get(sub.billing_channel, sub.billing_channel),
        "period_end": phrases.day(sub.period_end, tz, today),
        "next_charge": phrases.day(sub.next_charge_at, tz, today),
        "refund_days": str(runtime.settings.refund_window_days),
    }


def current_subscription(tracker: Tracker, runtime: Runtime) -> Optional[Any]:
    """The membership selected in this conversation, if it belongs to the verified holder."""
    raw = tracker.get_slot("subscription_id")
    phone = verified_phone(tracker, runtime)
    if not raw or not phone:
        return None
    try:
        subscription_id = int(raw)
    except ValueError:
        return None
    # One read instead of the membership and then all of the holder's to check ownership.
    return runtime.store.owned_subscription(subscription_id, phone)


def answer_reference(
    reference_text: str,
    dispatcher: CollectingDispatcher,
    runtime: Runtime,
    holder: Optional[str] = None,
) -> bool:
    """One cancellation by its reference; True when only the brief answer could be given.

    A reference alone says whether it exists, its status and date; the membership and the
    (masked) number only go to the holder verified in this conversation (`holder`).
    """
    reference = normalize_reference(reference_text) or reference_text.upper().replace(" ", "")
    if not is_valid_reference(reference):
        dispatcher.utter_message(response="utter_reference_invalid", reference=reference)
        return False
    item = runtime.store.cancellation(reference)
    if item is None:
        dispatcher.utter_message(response="utter_reference_not_found", reference=reference)
        return False
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    if holder is None or item.phone != holder:
        dispatcher.utter_message(
            response="utter_cancellation_status_brief",
            reference=item.reference,
            requested_date=phrases.day(item.requested_at, tz, today),
        )
        return True
    dispatcher.utter_message(
        response="utter_cancellation_status",
        reference=item.reference,
        service=item.product_name,
        requested_date=phrases.day(item.requested_at, tz, today),
        effective_until=phrases.day(item.effective_until, tz, today),
        masked_phone=mask_phone(item.phone),
    )
    return False
