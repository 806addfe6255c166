"""A bare yes or no (好的, 不用了, 没有了 …) outside a form, read against the question just asked.

Inside a form the form's own rules read it (a confirmation, giving up). Out here the same
word means different things: 没有了 after 还需要取消其他会员吗 closes, after 需要为您转人工吗
declines the human, after 需要我提交退款申请吗 declines the refund case.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import refund_offers
from actions.asking import ask
from actions.handoff_tickets import hand_off
from actions.outage import store_safe
from actions.proxy import PROXY_SLOT, proxy_answer
from actions.runtime import get_runtime
from actions.turn import latest_entities
from turns.questions import question
from turns.record import last_question

# What a yes / a no means when the last turn asked nothing in particular.
DEFAULT_MOVES = {"affirm": "how_can_help", "deny": "close"}
LISTEN = [SlotSet("next_step", "listen")]


def _plain(domain: DomainDict, template: str) -> bool:
    """Whether a response has no variables, so it can be asked again as it is."""
    variations = (domain.get("responses") or {}).get(template) or []
    return bool(variations) and all("{" not in (v.get("text") or "") for v in variations)


# "不要取消腾讯视频" / "先别关" refuse a cancellation; "腾讯视频不要了" asks for one.
_KEEP = re.compile(r"(?:不要|别|不|先不|不用|不想)(?:再)?(?:帮我)?(?:取消|退订|退|关|停)")


def not_wanted(text: str, services: List[str]) -> bool:
    """Whether a no that names memberships means "cancel them" ("咪咕视频的会员不要了")."""
    return bool(services) and not _KEEP.search(text or "")


def move_for(intent: str, asked: str | None) -> str:
    """What a yes (affirm) or a no (deny) does after the question `asked`."""
    found = question(asked)
    if found is None or found.flow:
        return "reask" if found is not None and intent == "affirm" else DEFAULT_MOVES[intent]
    move = found.yes if intent == "affirm" else found.no
    return move or DEFAULT_MOVES[intent]


class ActionShortAnswer(Action):
    """Reads a bare yes or no against the question of the previous turn and acts on it."""

    def name(self) -> str:
        """Action name."""
        return "action_short_answer"

    @store_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """One move per answer; the rules start a cancellation when next_step is `cancel`."""
        if proxy_answer(tracker, dispatcher):
            # "我是机主的老婆" is read as a yes; it asks whether they may act for the holder.
            return [SlotSet(PROXY_SLOT, True)] + LISTEN
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in DEFAULT_MOVES:
            intent = "affirm"
        if tracker.active_loop_name:
            # A bare yes to a form's own open question ("好嘞" to the reason): the form asks it
            # again in its own words, so nothing is added here (one question a turn).
            return LISTEN
        asked = last_question(tracker.events)
        move = move_for(intent, asked)
        text = tracker.latest_message.get("text") or ""
        if intent == "deny" and not_wanted(text, latest_entities(tracker, "service")):
            move = "cancel"
        if move == "reask" and asked is not None and _plain(domain, asked):
            ask(dispatcher, tracker, asked)
            return LISTEN
        return self._do(move if move != "reask" else "how_can_help", dispatcher, tracker)

    @staticmethod
    def _do(move: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        moves: Dict[str, Any] = {
            "close": lambda: dispatcher.utter_message(response="utter_glad_to_help"),
            "goodbye": lambda: dispatcher.utter_message(response="utter_goodbye"),
            "ok_rephrase": lambda: ask(dispatcher, tracker, "utter_ok_rephrase"),
            "how_can_help": lambda: ask(dispatcher, tracker, "utter_how_can_help"),
        }
        if move == "cancel":
            # The service slot (filled from this message, if it named any) tells the form what.
            return [SlotSet("goal", None), SlotSet("next_step", "cancel")]
        if move == "handoff":
            # next_step is set whatever the store said, so the rules always wait after this.
            return [e for e in hand_off(tracker, dispatcher) if e not in LISTEN] + LISTEN
        if move == "file_refund":
            return refund_offers.file_offered_refunds(tracker, dispatcher, get_runtime()) + LISTEN
        if move == "no_refund":
            return refund_offers.decline_refunds(tracker, dispatcher) + LISTEN
        moves.get(move, moves["how_can_help"])()
        if move in ("close", "goodbye"):
            return [SlotSet("goal", None)] + LISTEN
        return LISTEN
