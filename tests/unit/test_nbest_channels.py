"""Spoken channels pass their n-best lists on (metadata `asr_hypotheses`) and choose nothing:
the phone IVR's optional `nbest` field, checked and forwarded like the speaker's."""

from __future__ import annotations

import json

import pytest

from channels.guard import RequestRejected
from channels.ivr import IvrInput
from channels.ivr.events import MAX_HYPOTHESES, parse_ivr_event
from tests.unit.test_ivr_channel import FakeRasa, bot, call
from turns.nbest import ASR_HYPOTHESES, Hypothesis, hypotheses_of


def speech(**fields) -> dict:
    return {"call_id": "c-nbest", "type": "speech", **fields}


def raw(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def test_the_platforms_pick_leads_then_its_other_readings() -> None:
    """text/confidence first; nbest entries after it, duplicates and empty ones dropped."""
    event = parse_ivr_event(
        raw(
            speech(
                text="确认取笑",
                confidence=0.6,
                nbest=[
                    {"text": "确认取笑", "confidence": 0.6},
                    {"text": "确认取消", "confidence": 0.5},
                    {"text": " "},
                    {"text": "确认去消"},
                ],
            )
        )
    )
    assert event.text == "确认取笑" and event.confidence == 0.6
    assert event.hypotheses == (
        Hypothesis("确认取笑", 0.6),
        Hypothesis("确认取消", 0.5),
        Hypothesis("确认去消", None),
    )


def test_without_nbest_the_text_is_the_only_reading() -> None:
    """Platforms that send no alternatives are unchanged: one hypothesis, or none if silent."""
    assert parse_ivr_event(raw(speech(text="你好"))).hypotheses == (Hypothesis("你好", None),)
    assert parse_ivr_event(raw(speech(text="", nbest=[{"text": "你好"}]))).hypotheses == ()


@pytest.mark.parametrize(
    "nbest",
    [
        "确认取消",
        [{"text": 5}],
        [{"confidence": 0.5}],
        [{"text": "好", "confidence": 2}],
        [{"text": "好", "confidence": True}],
        ["好"],
        [{"text": "好"}] * (MAX_HYPOTHESES + 1),
    ],
)
def test_a_malformed_nbest_is_refused(nbest) -> None:
    """A 400 with its own code, like any malformed field."""
    with pytest.raises(RequestRejected) as refused:
        parse_ivr_event(raw(speech(text="好", nbest=nbest)))
    assert (refused.value.status, refused.value.code) == (400, "invalid_nbest")


def test_the_ivr_passes_the_readings_on_and_sends_its_pick_as_the_text() -> None:
    """The message text is the platform's pick; every reading goes on in the metadata for the
    server to choose from. Keys and the call's start carry none."""
    rasa = FakeRasa(lambda text: [bot("好的。", "utter_greet")])
    channel = IvrInput()
    call(channel, rasa, {"call_id": "c-nbest", "type": "start"})
    call(
        channel,
        rasa,
        speech(text="确认取笑", confidence=0.6, nbest=[{"text": "确认取消", "confidence": 0.5}]),
    )
    call(channel, rasa, {"call_id": "c-nbest", "type": "dtmf", "digits": "0"})
    start, said, keyed = rasa.received
    assert said.text == "确认取笑"
    readings = [Hypothesis("确认取笑", 0.6), Hypothesis("确认取消", 0.5)]
    assert hypotheses_of(said.metadata) == readings
    assert ASR_HYPOTHESES not in start.metadata and ASR_HYPOTHESES not in keyed.metadata


def test_a_low_confidence_pick_is_still_asked_again_by_the_channel() -> None:
    """min_confidence reads the platform's pick, as before: below it nothing goes on."""
    rasa = FakeRasa(lambda text: [bot("好的。", "utter_greet")])
    channel = IvrInput(min_confidence=0.5)
    event = speech(text="确认取消", confidence=0.3, nbest=[{"text": "确认取消", "confidence": 0.9}])
    status, body = call(channel, rasa, event)
    assert status == 200 and rasa.received == []
