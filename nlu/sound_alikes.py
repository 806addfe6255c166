"""Rasa component that puts back the domain words a speech recogniser wrote as sound-alikes.

取销 / 去消 → 取消, 续废 → 续费, 退定 / 腿订 → 退订, 包悦 → 包月: the words that carry the intent
are few, and a recogniser that keeps their sound but not their characters hides them from the
classifier. A window whose fuzzy pinyin (nlu/pinyin.py) is a listed word's becomes that word.
The replacement has the same length, so entity offsets stay exact; training data is rewritten
the same way, so the classifier learns what it will be shown.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.pinyin import SoundIndex, han_count

# Words whose meaning decides the intent. Not listed: 解约 (节约 "save money" sounds the same),
# 验证码 (重新验证吗 sounds the same), 关掉 / 停掉 (关 and 管, 停 and 挺: common words either way).
DOMAIN_WORDS: Tuple[str, ...] = (
    "取消",
    "退订",
    "续订",
    "续费",
    "自动续费",
    "会员",
    "包月",
    "包年",
    "包季",
    "扣费",
    "扣款",
    "退款",
    "退费",
    "订阅",
    "关闭",
    "开通",
)
# A two-character window must keep one character of the word (取销, 去消, 续废, 包悦), so that
# common words that merely sound alike (去笑 is not 取消) stay what they are.
_SHORT = 2


def word_index(words: Tuple[str, ...] = DOMAIN_WORDS) -> SoundIndex:
    """The listed words by their fuzzy sound key."""
    index = SoundIndex()
    for word in words:
        index.add(word, word)
    return index


def restore_words(text: str, index: SoundIndex) -> str:
    """`text` with each sound-alike window of a listed word replaced by the word (same length)."""
    if not text:
        return text
    chars = list(text)
    for match in index.find(text):
        word = match.values[0]
        if match.heard == word or len(word) != len(match.heard):
            continue
        if han_count(match.heard) <= _SHORT and not set(match.heard) & set(word):
            continue
        chars[match.start : match.end] = word
    return "".join(chars)


# Tokenizer-typed for the same reason as nlu/normalizer.py: only tokenizers and featurizers see
# the training data in Rasa's default recipe, and the training text must be rewritten too.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SoundAlikeWordRestorer(GraphComponent):
    """Rewrites sound-alikes of the domain's intent words (取销 → 取消) in the text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the words are DOMAIN_WORDS."""
        return {}

    def __init__(self) -> None:
        """Indexes the listed words once (a few dozen keys from a constant)."""
        self._index = word_index()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SoundAlikeWordRestorer:
        """Creates the component."""
        return cls()

    @staticmethod
    def supported_languages() -> List[str]:
        """Chinese only."""
        return ["zh"]

    @staticmethod
    def required_packages() -> List[str]:
        """pypinyin reads the characters."""
        return ["pypinyin"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Rewrites the training examples as messages will be rewritten."""
        for example in training_data.training_examples:
            self._restore(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Rewrites incoming messages."""
        for message in messages:
            self._restore(message)
        return messages

    def _restore(self, message: Message) -> None:
        text = message.get(TEXT)
        if text:
            restored = restore_words(text, self._index)
            if restored != text:
                message.set(TEXT, restored)
