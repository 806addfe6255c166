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
