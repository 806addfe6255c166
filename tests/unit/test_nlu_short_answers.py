"""nlu.short_answers: a bare short answer is labelled affirm / deny, anything else untouched."""

from __future__ import annotations

from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.short_answers import ShortAnswerClassifier, labelled


def _message(text: str, intent: str = "query_cancellation", entities=None) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.6})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 0.6}])
    if entities:
        message.set(ENTITIES, entities)
    return message


def test_bare_no_is_deny_whatever_the_classifier_said() -> None:
    """没有了 read as a question about cancellations becomes deny, ranked first."""
    message = _message("没有了")
    assert labelled(message)
    assert message.get(INTENT) == {"name": "deny", "confidence": 1.0}
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0]["name"] == "deny" and ranking[1]["name"] == "query_cancellation"


def test_bare_yes_is_affirm_even_after_a_fallback() -> None:
    """可以 that fell under the threshold is affirm."""
    message = _message("可以", intent="nlu_fallback")
    ShortAnswerClassifier().process([message])
    assert message.get(INTENT)["name"] == "affirm"


def test_messages_with_content_are_left_alone() -> None:
    """A named membership or a longer sentence keeps the classifier's label."""
    named = _message(
        "腾讯视频不要了",
        intent="deny",
        entities=[{"entity": "service", "value": "腾讯视频VIP", "start": 0, "end": 4}],
    )
    assert not labelled(named)
    sentence = _message("我上个月被扣了30块", intent="report_unexpected_charge")
    assert not labelled(sentence)
    assert sentence.get(INTENT)["name"] == "report_unexpected_charge"


def _found(text: str, *spans: tuple) -> list:
    return [
        {"entity": e, "value": v, "start": text.index(s), "end": text.index(s) + len(s)}
        for e, v, s in spans
    ]


def test_a_bare_misheard_name_is_inform() -> None:
    """疼讯视频 read by its sound: whatever the classifier guessed from the characters, a message
    that only names a membership gives information (and starts that membership's flow)."""
    for text, surface in (("疼讯视频", "疼讯视频"), ("就是优裤会员", "优裤"), ("嘿胶。", "嘿胶")):
        message = _message(
            text, intent="check_subscription", entities=_found(text, ("service", "x", surface))
        )
        ShortAnswerClassifier().process([message])
        assert message.get(INTENT) == {"name": "inform", "confidence": 1.0}, text
        assert message.get(INTENT_RANKING_KEY)[1]["name"] == "check_subscription"


def test_a_bare_number_with_its_name_is_inform() -> None:
    text = "单号是 TD202610227Z3DJT"
    message = _message(
        text, entities=_found(text, ("reference_number", "TD202610227Z3DJT", "TD202610227Z3DJT"))
    )
    ShortAnswerClassifier().process([message])
    assert message.get(INTENT)["name"] == "inform"


def test_a_name_with_a_request_keeps_the_classifiers_label() -> None:
    for text, intent in (
        ("取消疼讯视频", "cancel_subscription"),
        ("疼讯视频多少钱", "check_subscription"),
        ("查一下单号TD202610227Z3DJT", "query_cancellation"),
    ):
        surface = "TD202610227Z3DJT" if "TD" in text else "疼讯视频"
        kind = "reference_number" if "TD" in text else "service"
        message = _message(text, intent=intent, entities=_found(text, (kind, surface, surface)))
        ShortAnswerClassifier().process([message])
        assert message.get(INTENT)["name"] == intent, text


def test_no_entities_nothing_to_inform() -> None:
    message = _message("我的会员", intent="check_subscription")
    ShortAnswerClassifier().process([message])
    assert message.get(INTENT)["name"] == "check_subscription"
