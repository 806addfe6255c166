"""Rasa component: a message that is only a short answer (好的, 不用了, 没有了…) is affirm or deny,
and one that only gives what the entity rules found (a membership name, a number) is inform.

The classifier learns these from few examples and sometimes reads 没有了 as a question about
cancellations; a bare short answer is unambiguous as yes or no, so it is labelled here with
the contract's own intents. What a yes or a no means is the dialogue's to decide, against
the question just asked (actions/short_answer.py).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from turns.short_answers import YES, reading

AFFIRM, DENY, INFORM = "affirm", "deny", "inform"
# What may stand around a bare piece of information: what names it (单号, 手机号), pointing
# words, particles and punctuation. Nothing here asks or wants anything.
_NAMING = re.compile(
    r"(?:就是|我的|是|那个|这个|的|会员|单号|凭证号?|订单号|手机号码?|号码|验证码|吧|啊|呀|哦|嗯|呢|嘛|哈|啦"
    r"|[\s,，.。!！?？~～、…:：])+"
)


def _relabel(message: Message, name: str) -> None:
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT, {"name": name, "confidence": 1.0}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY, [{"name": name, "confidence": 1.0}] + ranking, add_to_output=True
    )


def only_information(message: Message) -> bool:
    """Relabels a message that is nothing but found entities (疼讯视频, 就是优裤会员, 单号TD…)
    as inform: a misheard name is read by its sound, but the classifier sees strange
    characters and guesses; True when it relabelled."""
    text, entities = message.get(TEXT) or "", message.get(ENTITIES) or []
    if not entities or not text.strip():
        return False
    rest = list(text)
    for item in entities:
        start, end = item.get("start"), item.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            return False
        rest[start:end] = [""] * (end - start)
    if _NAMING.sub("", "".join(rest)):
        return False
    if (message.get(INTENT) or {}).get("name") != INFORM:
        _relabel(message, INFORM)
    return True


def labelled(message: Message) -> bool:
    """Relabels a bare short answer as affirm or deny; True when it did."""
    if message.get(ENTITIES):
        return False  # "腾讯视频不要了" names something: not a bare answer
    found = reading(message.get(TEXT))
    if found is None:
        return False
    _relabel(message, AFFIRM if found == YES else DENY)
    return True


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ShortAnswerClassifier(GraphComponent):
    """Labels bare short answers affirm / deny, and bare information inform, after the learned
    classifier and its fallback."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the words live in turns/short_answers.py."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ShortAnswerClassifier:
        """Creates the component (it keeps no state)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Relabels each message that is only a short answer or only information."""
        for message in messages:
            labelled(message) or only_information(message)
        return messages
