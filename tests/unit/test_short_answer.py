"""A bare yes or no read against the question just asked (action_short_answer)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.short_answer import ActionShortAnswer, move_for, not_wanted
from tests.conftest import make_tracker
from tests.unit.action_helpers import responses

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def _bot(name: str) -> dict:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": name}}


def _user(text: str = "x") -> dict:
    return {"event": "user", "text": text}


def _answer(intent: str, *asked: str, text: str = "") -> tuple:
    events = [_user("之前")] + [_bot(name) for name in asked]
    tracker = make_tracker(intent=intent, text=text, events=events)
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionShortAnswer().run(dispatcher, tracker, DOMAIN))
    return result, responses(dispatcher)


@pytest.mark.parametrize(
    ("intent", "asked", "move"),
    [
        ("deny", "utter_ask_another", "close"),
        ("affirm", "utter_ask_another", "cancel"),
        ("deny", "utter_you_are_welcome", "goodbye"),
        ("affirm", "utter_offer_human", "handoff"),
        ("deny", "utter_offer_human", "ok_rephrase"),
        ("affirm", "utter_refund_offer", "file_refund"),
        ("deny", "utter_refund_offer", "no_refund"),
        ("affirm", "utter_legal_rights", "cancel"),
        ("affirm", None, "how_can_help"),
        ("deny", None, "close"),
        ("affirm", "utter_ask_phone_for_check", "reask"),
        ("deny", "utter_ask_phone_for_check", "close"),
    ],
)
def test_moves(intent: str, asked, move: str) -> None:
    """What a yes or a no does depends on the question just asked."""
    assert move_for(intent, asked) == move


def test_no_after_cancel_another_closes(runtime) -> None:
    """还需要取消其他会员吗？ 没有了 → closes (no records listed, nothing started)."""
    events, said = _answer("deny", "utter_cancelled", "utter_ask_another", text="没有了")
    assert said == ["utter_glad_to_help"]
    assert SlotSet("next_step", "listen") in events


def test_yes_after_cancel_another_starts_a_cancellation(runtime) -> None:
    """还需要取消其他会员吗？ 好的 → the rules start the cancel form."""
    events, said = _answer("affirm", "utter_ask_another", text="好的")
    assert said == []
    assert SlotSet("next_step", "cancel") in events


def test_no_after_anything_else_says_goodbye(runtime) -> None:
    """还有其他需要吗？ 没有了 → goodbye."""
    _, said = _answer("deny", "utter_you_are_welcome", text="没有了")
    assert said == ["utter_goodbye"]


def test_yes_to_a_human_opens_a_ticket_only_then(runtime) -> None:
    """A yes opens a ticket only when a human was offered."""
    _, said = _answer("affirm", "utter_offer_human", text="好的")
    assert said == ["utter_handoff"]
    _, said = _answer("affirm", "utter_greet", text="好的")
    assert said == ["utter_how_can_help"]


def test_yes_to_an_open_step_asks_it_again(runtime) -> None:
    """好的 after 请告诉我被扣费的手机号码 asks for the number again, not "what can I do"."""
    _, said = _answer("affirm", "utter_ask_phone_for_charge", text="好的")
    assert said[-1] == "utter_ask_phone_for_charge"
    assert "utter_how_can_help" not in said


@pytest.mark.parametrize(
    ("text", "wanted_cancelled"),
    [
        ("咪咕视频的会员不要了", True),
        ("腾讯视频不要了", True),
        ("绿钻不想要了", True),
        ("不要取消腾讯视频", False),
        ("先别关腾讯视频", False),
        ("腾讯视频先不取消了", False),
        ("不用退爱奇艺", False),
    ],
)
def test_a_membership_not_wanted_is_told_from_one_kept(text: str, wanted_cancelled: bool) -> None:
    """ "X不要了" asks for a cancellation; "不要取消X" refuses one."""
    assert not_wanted(text, ["X"]) is wanted_cancelled
    assert not not_wanted(text, [])


def test_no_naming_a_membership_starts_its_cancellation(runtime) -> None:
    """咪咕视频的会员不要了 (deny + service) → the rules start the cancel form."""
    tracker = make_tracker(
        intent="deny",
        text="咪咕视频的会员不要了",
        entities=[{"entity": "service", "value": "咪咕视频钻石会员"}],
        events=[_user("你好"), _bot("utter_greet")],
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionShortAnswer().run(dispatcher, tracker, DOMAIN))
    assert SlotSet("next_step", "cancel") in events
    assert responses(dispatcher) == []


def test_yes_to_a_human_with_the_store_down_still_waits(runtime, monkeypatch) -> None:
    """The store down while a human is accepted: busy is said and next_step tells the rules to
    wait (otherwise no rule follows action_short_answer and the fallback answers)."""
    from core.store.errors import StoreUnavailable

    def down(**_: object) -> None:
        raise StoreUnavailable("down")

    monkeypatch.setattr(runtime.store, "open_handoff", down)
    events, said = _answer("affirm", "utter_offer_human", text="好的")
    assert said == ["utter_system_busy"]
    assert events[-1] == SlotSet("next_step", "listen")
