"""Refund offers for unexpected charges: list the charges, say which agree with what the user
described, offer a refund request for those that qualify, and file or drop it on the answer.

Used by the charge review (actions/refunds.py), the memberships overview and short answers."""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Optional, Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import phrases
from actions.asking import ask
from actions.charge_claims import (
    Claim,
    asks_for_refund,
    claim_words,
    local_day,
    matches,
    matching,
    read_claim,
)
from actions.holder import touch_verification, verified_phone
from actions.memberships import product_codes
from actions.runtime import Runtime
from actions.turn import latest_entities
from core.store.views import ChargeReview
from turns.record import last_question

REVIEW_DAYS = 90
OFFER_SLOT = "refund_offer"
OFFER_QUESTION = "utter_refund_offer"
CHARGE_INTENT = "report_unexpected_charge"
# How the explanation of ordinary renewals refers to them.
ALL_CHARGES, OTHER_CHARGES = "以上", "其他"


def _intent(event: Dict[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def claim_messages(tracker: Tracker) -> List[Dict[str, Any]]:
    """The user messages of the current charge question, oldest first: from the latest one
    reporting a charge (before a phone and a code were asked for) to the latest message."""
    found: List[Dict[str, Any]] = []
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            break
        if kind != "user":
            continue
        found.append(event)
        if _intent(event) == CHARGE_INTENT:
            return list(reversed(found))
    return found[:1]


def user_claim(tracker: Tracker, today: date, runtime: Runtime) -> Claim:
    """What the user described about the charge: amounts, times and memberships.

    The memberships are the `service` entities of those same messages (canonical names,
    matched to charges by product code), not the `service` slot, which may still hold one
    named before the charge question.
    """
    messages = claim_messages(tracker)
    services = [
        item.get("value")
        for event in messages
        for item in (event.get("parse_data") or {}).get("entities") or []
        if item.get("entity") == "service" and isinstance(item.get("value"), str)
    ]
    texts = [event.get("text") or "" for event in messages]
    return read_claim(texts, today, services, product_codes(runtime))


def qualifies(charge: ChargeReview) -> bool:
    """Whether a refund request can be filed for the charge here."""
    return charge.after_cancellation or charge.within_refund_window


def _why(charge: ChargeReview) -> str:
    key = "after_cancellation" if charge.after_cancellation else "refund_window"
    return phrases.CHARGE_WHY[key]


def _about(charge: ChargeReview, runtime: Runtime, today: date) -> Dict[str, str]:
    """The words naming one charge in a response."""
    return {
        "charged_date": phrases.day(charge.charged_at, runtime.settings.timezone, today),
        "service": charge.product_name,
        "amount": phrases.money(charge.amount),
    }


def _offer_item(charge: ChargeReview, runtime: Runtime, today: date) -> str:
    about = _about(charge, runtime, today)
    return f"{about['charged_date']}{about['service']}的{about['amount']}（{_why(charge)}）"


def _numbers(charges: Sequence[ChargeReview], picked: Sequence[ChargeReview]) -> str:
    ids = [charge.charge_id for charge in charges]
    return "、".join(str(ids.index(charge.charge_id) + 1) for charge in picked)


def review_charges(
    phone: str, tracker: Tracker, dispatcher: CollectingDispatcher, runtime: Runtime
) -> List[EventType]:
    """Lists recent charges, says which agree with what the user described, and asks
    whether to file a refund request for those that qualify; never opens a case itself."""
    charges = runtime.store.review_charges(phone, days=REVIEW_DAYS)
    tz = runtime.settings.timezone
    now = runtime.clock()
    today = now.date()
    no_offer: List[EventType] = [SlotSet(OFFER_SLOT, None)]
    if not charges:
        dispatcher.utter_message(
            response="utter_no_charges", days=REVIEW_DAYS, masked_phone=phrases.mask_phone(phone)
        )
        return no_offer
    claim = user_claim(tracker, local_day(now, tz), runtime)
    considered = matching(claim, charges, tz) if claim.described() else list(charges)
    if claim.described() and not considered:
        dispatcher.utter_message(response="utter_charge_claim_not_found", claim=claim_words(claim))
    lines = [phrases.charge_line(i, c, tz, today) for i, c in enumerate(charges, 1)]
    dispatcher.utter_message(
        response="utter_charges_overview", days=REVIEW_DAYS, items="\n".join(lines)
    )
    if claim.described() and considered:
        dispatcher.utter_message(
            response="utter_charge_claim_matched",
            claim=claim_words(claim),
            numbers=_numbers(charges, considered),
        )
    filed = [c for c in considered if c.refund_reference]
    for charge in filed:
        dispatcher.utter_message(
            response="utter_refund_case_exists",
            reference=charge.refund_reference,
            **_about(charge, runtime, today),
        )
    # What the user described, where it qualifies; and a charge taken after its membership was
    # cancelled whatever was described (it should never have been taken; the user may well
    # misremember its amount or month).
    offer = [
        c
        for c in charges
        if not c.refund_reference and ((c in considered and qualifies(c)) or c.after_cancellation)
    ]
    spoken_of = {c.charge_id for c in filed + offer}
    ordinary = [c for c in charges if c.charge_id not in spoken_of and not c.after_cancellation]
    which = ALL_CHARGES if len(ordinary) == len(charges) else OTHER_CHARGES
    if offer:
        # The refund request is the turn's one question: the explanation offers nothing.
        if ordinary:
            dispatcher.utter_message(response="utter_charge_explained_plain", which=which)
        items = "、".join(_offer_item(c, runtime, today) for c in offer)
        ask(dispatcher, tracker, OFFER_QUESTION, items=items)
        return [SlotSet(OFFER_SLOT, [c.charge_id for c in offer])]
    dispatcher.utter_message(
        response="utter_complaint_channels", hotline=runtime.settings.operator_hotline
    )
    if ordinary:
        # Asks whether to cancel (turns/questions.py): last, so it is what the user answers.
        ask(dispatcher, tracker, "utter_charge_explained", which=which)
    return no_offer


def offer_pending(tracker: Tracker) -> bool:
    """Whether the bot's previous turn asked utter_refund_offer, so a yes now consents to it."""
    return last_question(tracker.events) == OFFER_QUESTION


def latest_claim(tracker: Tracker, runtime: Runtime) -> Claim:
    """What the latest message alone describes ("只退网易云的", "昨天那笔"): narrows a yes."""
    today = local_day(runtime.clock(), runtime.settings.timezone)
    text = tracker.latest_message.get("text") or ""
    services = latest_entities(tracker, "service")
    return read_claim([text], today, services, product_codes(runtime))


def asks_to_file(tracker: Tracker) -> bool:
    """Whether the latest message, right after the refund offer, asks for it in its own
    words ("帮我申请退款吧"), naming no membership and describing no charge: its yes."""
    text = tracker.latest_message.get("text") or ""
    return (
        offer_pending(tracker) and asks_for_refund(text) and not latest_entities(tracker, "service")
    )


def _offered_ids(tracker: Tracker) -> List[int]:
    value = tracker.get_slot(OFFER_SLOT) or []
    ids: List[int] = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item)
        if text.isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids


def file_offered_refunds(
    tracker: Tracker, dispatcher: CollectingDispatcher, runtime: Runtime
) -> List[EventType]:
    """After a yes to utter_refund_offer: opens a case for each offered charge that is still
    the verified holder's and still qualifies, and says its number.

    Opens nothing unless the previous turn asked utter_refund_offer. The offered ids come
    from a slot, so each is checked against the store for the holder proved in the store's
    session. What the yes itself describes ("只退网易云的", "15块那笔") narrows the offer.
    """
    cleared: List[EventType] = [SlotSet(OFFER_SLOT, None)]
    if not offer_pending(tracker):
        return cleared
    phone = verified_phone(tracker, runtime)
    if not phone:
        ask(dispatcher, tracker, "utter_ask_phone_for_charge")
        return cleared + [SlotSet("goal", "charge")]
    charges = {c.charge_id: c for c in runtime.store.review_charges(phone, days=REVIEW_DAYS)}
    narrowed = latest_claim(tracker, runtime)
    tz = runtime.settings.timezone
    today = runtime.clock().date()
    said = opened = 0
    for charge_id in _offered_ids(tracker):
        charge = charges.get(charge_id)
        if charge is None or not matches(narrowed, charge, tz):
            continue  # not this holder's (or no longer listed), or not the one described
        said += 1
        about = _about(charge, runtime, today)
        if not qualifies(charge):
            dispatcher.utter_message(response="utter_refund_not_possible", **about)
            continue
        case = runtime.store.open_refund_case(
            charge.charge_id,
            phone=phone,
            conversation_id=tracker.sender_id,
            reason=_why(charge),
            channel=tracker.get_latest_input_channel() or "rest",
        )
        if case.created:
            opened += 1
            dispatcher.utter_message(
                response="utter_refund_case_opened", reference=case.reference, **about
            )
        else:
            dispatcher.utter_message(
                response="utter_refund_case_exists", reference=case.reference, **about
            )
    if not said:
        dispatcher.utter_message(response="utter_refund_nothing_to_file")
    elif opened:
        dispatcher.utter_message(
            response="utter_complaint_channels", hotline=runtime.settings.operator_hotline
        )
    return cleared + touch_verification(tracker, runtime)


def decline_refunds(tracker: Tracker, dispatcher: CollectingDispatcher) -> List[EventType]:
    """After a no to utter_refund_offer: nothing is filed, and the offer is forgotten."""
    dispatcher.utter_message(response="utter_refund_declined")
    return [SlotSet(OFFER_SLOT, None)]
