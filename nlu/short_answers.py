"""Rasa component: a message that is only a short answer (好的, 不用了, 没有了…) is affirm or deny.

The classifier learns these from few examples and sometimes reads 没有了 as a question about
cancellations; a bare short answer is unambiguous as yes or no, so it is labelled here with
the contract's own intents. What a yes or a no means is the dialogue's to decide, against
the question just asked (actions/short_answer.py).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from turns.short_answers import YES, reading

AFFIRM, DENY = "affirm", "deny"


def labelled(message: Message) -> bool:
    """Relabels a bare short answer as affirm or deny; True when it did."""
    if message.get(ENTITIES):
        return False  # "腾讯视频不要了" names something: not a bare answer
    found = reading(message.get(TEXT))
    if found is None:
        return False
    name = AFFIRM if found == YES else DENY
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT, {"name": name, "confidence": 1.0}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY, [{"name": name, "confidence": 1.0}] + ranking, add_to_output=True
    )
    return True


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ShortAnswerClassifier(GraphComponent):
    """Labels bare short answers affirm / deny after the learned classifier and its fallback."""

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
        """Relabels each message that is only a short answer."""
        for message in messages:
            labelled(message)
        return messages
