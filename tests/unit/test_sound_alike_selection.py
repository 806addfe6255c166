"""A membership heard as a sound-alike of several: the one the holder has is meant; with two
or none, the holder picks from the list (nothing is guessed, nothing said "not held")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateCancelForm
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses as _responses
from tests.unit.action_helpers import verified_slots as _verified

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8"))
ZHANG = "13800138000"  # active: QQ音乐绿钻, 腾讯视频VIP; cancelled: 咪咕视频钻石会员


def _heard(*names: str, ambiguous: bool = True) -> List[Dict[str, Any]]:
    """The NLU's entities for one span that sounds like each of `names`."""
    return [
        {
            "entity": "service",
            "value": n,
            "start": 2,
            "end": 4,
            **({"ambiguous": True} if ambiguous else {}),
        }
        for n in names
    ]


def _extract(runtime, entities: List[Dict[str, Any]], **slots: Any):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots=_verified(runtime, requested_slot="subscription_id", **slots),
        intent="cancel_subscription",
        text="取消绿钻",
        entities=entities,
        active_loop="cancel_form",
    )
    result = asyncio.run(ValidateCancelForm().extract_subscription_id(dispatcher, tracker, DOMAIN))
    return result, dispatcher


def test_the_one_the_holder_has_is_meant(runtime, subscription_of) -> None:
    result, dispatcher = _extract(runtime, _heard("QQ音乐绿钻", "爱奇艺黄金VIP"))
    assert result["subscription_id"] == str(subscription_of(ZHANG, "QQ音乐绿钻"))
    assert "utter_subscription_not_held" not in _responses(dispatcher)


def test_two_held_sound_alikes_are_not_guessed(runtime) -> None:
    result, dispatcher = _extract(runtime, _heard("QQ音乐绿钻", "腾讯视频VIP"))
    assert result["subscription_id"] is None  # the form asks which, with the list
    assert "utter_subscription_not_held" not in _responses(dispatcher)


def test_none_held_asks_from_the_list_without_naming_the_candidates(runtime) -> None:
    result, dispatcher = _extract(runtime, _heard("爱奇艺黄金VIP", "优酷VIP"))
    assert result["subscription_id"] is None
    assert _responses(dispatcher) == []


def test_two_names_said_on_purpose_are_both_taken(runtime, subscription_of) -> None:
    """Not ambiguous: 取消绿钻和腾讯视频 selects the first and keeps the other pending."""
    result, _ = _extract(runtime, _heard("QQ音乐绿钻", "腾讯视频VIP", ambiguous=False))
    assert result["subscription_id"] == str(subscription_of(ZHANG, "QQ音乐绿钻"))
