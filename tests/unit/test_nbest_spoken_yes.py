"""A spoken yes to cancelling counts only when the classifier is sure (actions/forms.py);
typed text keeps its rule; noise never confirms, whatever the confidence."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import (
    SPOKEN_YES_MIN_ASR_CONFIDENCE,
    SPOKEN_YES_MIN_CONFIDENCE,
    ValidateCancelForm,
)
from tests.conftest import make_tracker

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8"))
UNCLEAR = "utter_confirm_spoken_unclear"


def confirm(text: str, intent: str, confidence: float, channel: str, heard=None) -> tuple:
    """(slots extracted, responses said) for `text` at the confirmation question; `heard`:
    the recogniser's confidence in the words, as the server's n-best choice records it."""
    tracker = make_tracker(
        slots={"requested_slot": "cancel_confirmed"}, intent=intent, text=text, channel=channel
    )
    tracker.latest_message["intent"]["confidence"] = confidence
    if heard is not None:
        tracker.latest_message["asr"] = {"chosen": 0, "n": 1, "confidence": heard}
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateCancelForm().extract_cancel_confirmed(dispatcher, tracker, DOMAIN))
    said: List[Dict[str, Any]] = dispatcher.messages
    return result, [m.get("response") for m in said]


def test_the_spoken_threshold_is_stricter_than_any_typed_rule() -> None:
    """Typed text needs no confidence at all; speech needs this much."""
    assert 0.8 <= SPOKEN_YES_MIN_CONFIDENCE < 1.0


@pytest.mark.parametrize("channel", ["voice", "ivr"])
def test_an_unsure_spoken_yes_is_asked_again(runtime, channel: str) -> None:
    """Below the threshold: nothing confirmed, the slot left empty (asked again, not a
    rejection), and the user told why before the question comes back."""
    assert confirm("确认取消", "affirm", 0.6, channel) == ({"cancel_confirmed": None}, [UNCLEAR])
    assert confirm("取消吧", "cancel_subscription", 0.84, channel)[0] == {"cancel_confirmed": None}


@pytest.mark.parametrize("channel", ["voice", "ivr"])
def test_a_sure_spoken_yes_confirms(runtime, channel: str) -> None:
    """At or above the threshold, a yes the words say too confirms."""
    assert confirm("确认取消", "affirm", 0.97, channel) == ({"cancel_confirmed": True}, [])
    assert confirm("确认取消", "affirm", SPOKEN_YES_MIN_CONFIDENCE, channel)[0] == {
        "cancel_confirmed": True
    }
    assert confirm("/affirm", "affirm", 1.0, channel)[0] == {"cancel_confirmed": True}, "key 1"


@pytest.mark.parametrize("channel", ["voice", "ivr"])
def test_a_half_heard_spoken_yes_is_asked_again(runtime, channel: str) -> None:
    """Words the recogniser was unsure of do not cancel, however sure the classifier is."""
    low = SPOKEN_YES_MIN_ASR_CONFIDENCE - 0.01
    assert confirm("确认取消", "affirm", 1.0, channel, heard=low) == (
        {"cancel_confirmed": None},
        [UNCLEAR],
    )
    assert confirm("确认取消", "affirm", 1.0, channel, heard=0.9)[0] == {"cancel_confirmed": True}


@pytest.mark.parametrize("channel", ["rest", "socketio"])
def test_typed_text_keeps_todays_rule(runtime, channel: str) -> None:
    """A typed yes the words say confirms whatever the classifier's confidence."""
    assert confirm("确认取消", "affirm", 0.4, channel) == ({"cancel_confirmed": True}, [])


@pytest.mark.parametrize("channel", ["voice", "ivr"])
@pytest.mark.parametrize("noise", ["阿巴阿巴", "嗯", "啊", "啊？", "嗯嗯", "呃"])
def test_noise_never_confirms_by_voice(runtime, channel: str, noise: str) -> None:
    """Even read as a confident affirm, noise and bare interjections confirm nothing."""
    result, _ = confirm(noise, "affirm", 0.99, channel)
    assert result.get("cancel_confirmed") is not True


@pytest.mark.parametrize("channel", ["voice", "ivr", "rest"])
def test_a_spoken_no_is_taken_at_any_confidence(runtime, channel: str) -> None:
    """A no cancels nothing, so it needs no extra certainty."""
    assert confirm("先不取消", "deny", 0.5, channel) == ({"cancel_confirmed": False}, [])


def test_the_new_response_is_in_the_domain() -> None:
    """Said in natural Chinese, and not a question of its own (the form asks the question)."""
    (variant,) = DOMAIN["responses"][UNCLEAR]
    assert variant["text"].startswith("抱歉") and "？" not in variant["text"]
