"""What a speech recogniser writes is understood: the hand-written sound-alike gate, and every
mishearing docs/channels/voice.md lists under "Known gaps"."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.nlu import evaluate

pytestmark = pytest.mark.nlu

ROOT = Path(__file__).resolve().parents[2]
SOUND_ALIKES = ROOT / "tests" / "nlu_sound_alikes.yml"
MIN_INTENT_ACCURACY = 0.94
MIN_ENTITY_F1 = 0.94

# docs/channels/voice.md, "Known gaps": what was said → the membership or intent it should be.
# (The noise row, 阿巴阿巴 and the like read as `affirm` at the confirmation, is the
# confirmation threshold's business, not the ear's: tested with that work, not here.)
KNOWN_GAP_SERVICES = {
    "疼讯视频": "腾讯视频VIP",
    "藤训视频": "腾讯视频VIP",
    "腾讯识别": "腾讯视频VIP",
    "米谷视频": "咪咕视频钻石会员",
    "蜜骨视频": "咪咕视频钻石会员",
    "视频才领": "视频彩铃",
    "移动运盘": "移动云盘会员",
    "取消绿转": "QQ音乐绿钻",
}
KNOWN_GAP_INTENTS = {
    "疼讯视频": {"cancel_subscription", "inform"},
    "取消包月": {"cancel_subscription"},
    "算了": {"deny"},
}


def test_sound_alike_accuracy(parse) -> None:
    """Intent accuracy and entity F1 on the hand-written sound-alike utterances meet the gate."""
    report = evaluate(SOUND_ALIKES, parse)
    print("\n" + report.render())
    assert report.total >= 120
    assert report.intent_accuracy >= MIN_INTENT_ACCURACY, report.render()
    assert report.entity_f1 >= MIN_ENTITY_F1, report.render()


@pytest.mark.parametrize(("said", "service"), sorted(KNOWN_GAP_SERVICES.items()))
def test_known_gap_mishearing_names_the_membership(parse, said, service) -> None:
    """Each misheard name of the voice channel's table is the membership it should be."""
    values = [e["value"] for e in parse(said)["entities"] if e["entity"] == "service"]
    assert values == [service]


@pytest.mark.parametrize(("said", "intents"), sorted(KNOWN_GAP_INTENTS.items()))
def test_known_gap_mishearing_gets_its_intent(parse, said, intents) -> None:
    """Each misheard phrase of the table gets the intent it should have, not the fallback."""
    assert parse(said)["intent"]["name"] in intents
