"""n-best chosen in the Rasa server, and the stricter spoken yes, end to end.

The speaker and the IVR only pass their hypotheses on (`asr_hypotheses`); the server
(rasa_patches/nbest.py, always on) parses each and keeps the one the dialogue waits for,
recorded in the tracker's parse data. At the confirmation a spoken yes counts only when the
classifier is sure (actions/forms.py); typed text keeps its rule.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import List, Optional

import pytest

from actions.forms import SPOKEN_YES_MIN_CONFIDENCE, says_yes
from channels.ivr import DEV_TOKEN
from channels.voice_turns import sender_for
from tests.e2e.bot import Bot, find_reference
from tests.e2e.test_voice import LI, ZHANG, Speaker, spoken, status_of, text_of

pytestmark = pytest.mark.e2e

# Half-heard yeses: the words say yes, the model is not sure (asked of the model, not assumed).
UNSURE_YES_CANDIDATES = ("行吧那就", "那就可以", "其实对", "我也好", "可以怎么样", "好你说")
UNCLEAR = "抱歉，刚才没太听清您是不是要取消。"


def tracker_events(bot: Bot, sender: str) -> List[dict]:
    with urllib.request.urlopen(
        bot.api_url(f"/conversations/{sender}/tracker"), timeout=30
    ) as response:
        return json.loads(response.read())["events"]


def user_turns(bot: Bot, sender: str) -> List[dict]:
    return [e for e in tracker_events(bot, sender) if e["event"] == "user"]


def model_parse(bot: Bot, text: str) -> dict:
    request = urllib.request.Request(
        bot.api_url("/model/parse"),
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def unsure_yes(bot: Bot) -> Optional[str]:
    """A yes in words that this model reads as a yes below the spoken threshold."""
    for text in UNSURE_YES_CANDIDATES:
        intent = model_parse(bot, text)["intent"]
        sure = intent["confidence"] >= SPOKEN_YES_MIN_CONFIDENCE
        if intent["name"] in ("affirm", "cancel_subscription") and not sure and says_yes(text):
            return text
    return None


def at_confirmation(speaker: Speaker, bot: Bot) -> None:
    """Speaks the way to 确认要取消QQ音乐绿钻吗."""
    speaker.say("取消QQ音乐绿钻")
    speaker.say(spoken(ZHANG, (3, 4, 4)))
    asked = speaker.say(spoken(bot.code_for(ZHANG), (6,)))
    assert "确认要取消QQ音乐绿钻" in text_of(asked)


def test_the_server_picks_the_second_reading_at_the_phone_step(fresh: Bot) -> None:
    """ASR's favourite has no number; the 2nd reading has it and is used, and the tracker
    logs that reading as the user's words with the choice in its parse data."""
    speaker = Speaker(fresh)
    speaker.say("帮我退订爱奇艺")
    misheard = "要三九零零要三九零零零"
    sent = speaker.say(
        misheard, nbest=[(misheard, 0.8), (spoken(LI, (3, 4, 4)), 0.5), ("幺三九", 0.1)]
    )
    assert "验证码已发送到尾号九零零零的号码" in text_of(sent)
    last = user_turns(fresh, sender_for(speaker.user))[-1]
    # The chosen reading is the user's words (masked by the redacting tracker store).
    assert last["text"] == "139****9000"
    assert last["parse_data"]["asr"] == {"chosen": 1, "n": 3, "confidence": 0.5}
    assert len(last["metadata"]["asr_hypotheses"]) == 3


def test_the_first_reading_is_kept_when_it_answers(fresh: Bot) -> None:
    """The same channel, a right first reading: chosen 0, the others parsed and dropped."""
    speaker = Speaker(fresh)
    speaker.say("帮我退订爱奇艺")
    said = spoken(LI, (3, 4, 4))
    speaker.say(said, nbest=[(said, 0.8), ("要三九", 0.5)])
    last = user_turns(fresh, sender_for(speaker.user))[-1]
    assert last["parse_data"]["asr"] == {"chosen": 0, "n": 2, "confidence": 0.8}


def test_an_unsure_spoken_yes_does_not_cancel_and_a_clear_one_does(fresh: Bot) -> None:
    """Below the spoken threshold: asked again with its own words, nothing cancelled; then
    确认取消 cancels."""
    phrase = unsure_yes(fresh)
    if phrase is None:
        pytest.skip("this model is sure of every candidate yes")
    speaker = Speaker(fresh)
    at_confirmation(speaker, fresh)
    again = speaker.say(phrase)
    assert text_of(again).startswith(UNCLEAR)
    assert "确认要取消QQ音乐绿钻的自动续费吗" in text_of(again)
    assert not again["should_end_session"]
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"
    done = speaker.say("确认取消")
    reference = find_reference([done["display_text"]])
    assert reference and fresh.store.cancellation(reference).channel == "voice"


def test_a_half_heard_spoken_yes_does_not_cancel_and_a_clearly_heard_one_does(fresh: Bot) -> None:
    """The recogniser unsure of 确认取消 (confidence 0.3): asked again with its own words,
    nothing cancelled; the same words heard clearly cancel."""
    speaker = Speaker(fresh)
    at_confirmation(speaker, fresh)
    again = speaker.say("确认取消", nbest=[("确认取消", 0.3), ("确认取笑", 0.2)])
    assert "没太听清" in text_of(again), again
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"
    done = speaker.say("确认取消", nbest=[("确认取消", 0.95)])
    assert find_reference([done["display_text"]]), done
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "cancelled"


@pytest.mark.parametrize("noise", ["阿巴阿巴", "嗯", "啊"])
def test_noise_never_confirms_by_voice(fresh: Bot, noise: str) -> None:
    """Noise and bare interjections at the confirmation: nothing cancelled."""
    speaker = Speaker(fresh)
    at_confirmation(speaker, fresh)
    speaker.say(noise)
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "active"


def test_typed_text_keeps_its_rule(fresh: Bot) -> None:
    """The same half-sure yes typed over REST confirms, as it did before."""
    phrase = unsure_yes(fresh)
    if phrase is None:
        pytest.skip("this model is sure of every candidate yes")
    sender = f"e2e-{uuid.uuid4().hex[:12]}"
    fresh.say(sender, "取消QQ音乐绿钻")
    fresh.say(sender, ZHANG)
    asked = "\n".join(fresh.say(sender, f"验证码{fresh.code_for(ZHANG)}"))
    assert "确认要取消QQ音乐绿钻" in asked
    done = fresh.say(sender, phrase)
    assert find_reference(done), done
    assert status_of(fresh, ZHANG, "QQ音乐绿钻") == "cancelled"


def ivr(bot: Bot, event: dict) -> dict:
    request = urllib.request.Request(
        f"{bot.url}/webhooks/ivr/webhook",
        data=json.dumps(event, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {DEV_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


def test_the_ivr_passes_its_alternatives_and_the_server_chooses(fresh: Bot) -> None:
    """A phone platform's `nbest`: at the phone step its 2nd reading (the number) is used."""
    call = f"nbest-{uuid.uuid4().hex[:10]}"
    ivr(fresh, {"call_id": call, "type": "start"})
    ivr(fresh, {"call_id": call, "type": "speech", "text": "我要退订爱奇艺", "confidence": 0.9})
    misheard = "要三九零零要三九零零零"
    body = ivr(
        fresh,
        {
            "call_id": call,
            "type": "speech",
            "text": misheard,
            "confidence": 0.8,
            "nbest": [{"text": spoken(LI, (3, 4, 4)).replace("，", ""), "confidence": 0.6}],
        },
    )
    assert body["step"] == "code", body
    last = user_turns(fresh, f"ivr:{call}")[-1]
    assert last["parse_data"]["asr"] == {"chosen": 1, "n": 2, "confidence": 0.6}
