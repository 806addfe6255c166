"""Rasa component that normalises user text before it is tokenised."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.code_fingerprint import code_fingerprint
from nlu.normalize import normalize, normalize_with_map, remap_span
from nlu.pinyin_input import catalog_digest, read_typed_pinyin, warm_up


# Registered as a tokenizer-typed component because Rasa's default recipe only passes
# training data through tokenizers and featurizers; it is not a `Tokenizer` subclass,
# so jieba stays the pipeline's one tokenizer.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """Rewrites full-width forms, Traditional characters, spoken digits and typed pinyin."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Everything after it retrains when the rules, OpenCC, the pinyin lexicon's sources
        (jieba's dictionary, pypinyin, the catalog) change (not only the data)."""
        modules = ["nlu.normalize", "core.digits", "core.phone", "nlu.pinyin_input", "nlu.pinyin"]
        return code_fingerprint(modules, ["opencc", "jieba", "pypinyin"]) + catalog_digest()

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the rules live in nlu/normalize.py."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseTextNormalizer:
        """Creates the component (and starts reading the pinyin lexicon in the background, so
        the first message typed in pinyin does not wait for it)."""
        warm_up()
        return cls()

    @staticmethod
    def supported_languages() -> List[str]:
        """Chinese only."""
        return ["zh"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalises every example and moves its annotated entities along."""
        for example in training_data.training_examples:
            self._normalise(example, keep_entities=True)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalises incoming messages."""
        for message in messages:
            self._normalise(message, keep_entities=False)
        return messages

    @staticmethod
    def _normalise(message: Message, keep_entities: bool) -> None:
        text = message.get(TEXT)
        if not text:
            return
        new_text, mapping = normalize_with_map(text)
        new_text, spelled = read_typed_pinyin(new_text)
        mapping = [spelled[position] for position in mapping]
        if new_text == text:
            return
        message.set(TEXT, new_text)
        if not keep_entities:
            return
        for entity in message.get(ENTITIES) or []:
            start, end = entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
            surface = text[start:end]
            entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END] = remap_span(
                mapping, start, end
            )
            if entity.get(ENTITY_ATTRIBUTE_VALUE) == surface:
                entity[ENTITY_ATTRIBUTE_VALUE] = normalize(surface)
