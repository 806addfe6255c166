"""Rasa component that puts back the domain words a speech recogniser wrote as sound-alikes.

取销 / 去消 → 取消, 续废 → 续费, 退定 / 腿订 → 退订, 包悦 → 包月: the words that carry the intent
are few, and a recogniser that keeps their sound but not their characters hides them from the
classifier. A window whose fuzzy pinyin (nlu/pinyin.py) is a listed word's becomes that word.
The replacement has the same length, so entity offsets stay exact; training data is rewritten
the same way, so the classifier learns what it will be shown.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.code_fingerprint import code_fingerprint
from nlu.pinyin import SoundIndex

# Words whose meaning decides the intent. Not listed where a common phrase sounds the same:
# 解约 (节约 "save money"), 验证码 (重新验证吗), 手机号 (手机好卡).
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
    "关掉",
    "开通",
    "自动",
    "查询",
    "人工",
    "客服",
)
# Two characters sound like too many things, so a window that short counts only when it is no
# common word of its own (克服 is not 客服, 取笑 not 取消) and keeps a character of the word
# (取销, 续废 → 续费; 绿转 → 绿钻). A membership name may also be heard with no character right
# (嘿交 → 黑胶) when the window starts and ends where the sentence's words do and the dictionary
# knows it neither as a word, nor as the start of one, nor inside a longer one around it (忙过 in
# 忙过头 ends inside 过头, 有苦 starts 有苦难言: neither is 芒果 or 优酷); an intent word may not
# (去笑 in 我去笑了 stays).
SHORT = 2
COMMON_WORD_FREQUENCY = 50  # jieba's dictionary count from which a word is a word of its own


def common_word(word: str) -> bool:
    """Whether `word` is in jieba's dictionary often enough to be meant as written."""
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(word, 0) >= COMMON_WORD_FREQUENCY


def short_window_counts(
    text: str,
    start: int,
    end: int,
    meant: str,
    bounds: Optional[Callable[[], Set[int]]] = None,
) -> bool:
    """Whether the window text[start:end] may be read as `meant` (the characters of the word
    or name it sounds like); with `bounds` (the sentence's word boundaries, computed only when
    needed) a window that keeps no character counts when it is a word of its own there."""
    heard = text[start:end]
    if len(heard) > SHORT:
        return True
    if common_word(heard):
        return False
    if set(heard) & set(meant):
        return True
    if bounds is None:
        return False
    edges = bounds()
    return (
        start in edges
        and end in edges
        and not known_prefix(heard)
        and not inside_longer_word(text, start, end)
    )


def known_prefix(word: str) -> bool:
    """Whether jieba's dictionary has `word`, as a word or as the start of one (有苦: 有苦难言)."""
    import jieba

    jieba.dt.check_initialized()
    return word in jieba.dt.FREQ


def inside_longer_word(text: str, start: int, end: int, longest: int = 6) -> bool:
    """Whether a dictionary word of `text` longer than the window covers it (有苦 in 有苦说不出)."""
    import jieba

    jieba.dt.check_initialized()
    frequencies = jieba.dt.FREQ
    for left in range(max(0, end - longest), start + 1):
        for right in range(end, min(len(text), left + longest) + 1):
            if right - left > end - start and frequencies.get(text[left:right], 0) > 0:
                return True
    return False


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
        if not short_window_counts(text, match.start, match.end, word):
            continue
        chars[match.start : match.end] = word
    return "".join(chars)


# Tokenizer-typed for the same reason as nlu/normalizer.py: only tokenizers and featurizers see
# the training data in Rasa's default recipe, and the training text must be rewritten too.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SoundAlikeWordRestorer(GraphComponent):
    """Rewrites sound-alikes of the domain's intent words (取销 → 取消) in the text."""

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Everything after it retrains when its words or the sound tables change."""
        return code_fingerprint(["nlu.sound_alikes", "nlu.pinyin"], ["pypinyin"])

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
