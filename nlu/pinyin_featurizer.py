"""Sparse features from how the text sounds, so that 取销 / 续废 / 退定 mean 取消 / 续费 / 退订.

The word and character n-gram features DIET gets from the CountVectorsFeaturizers see a
mis-written verb as an unknown word; a speech recogniser writes exactly such words (the right
sound, the wrong characters). This featurizer gives DIET the sound as well: the counts of the
toneless syllable n-grams of the whole sentence (fuzzy-folded by default: zh/z, n/l, in/ing ...;
n-grams span jieba's tokens, so 取销 split as 取 / 销 still reads qu xiao, but a token without
Chinese characters, such as punctuation, breaks the run). Optionally also per token (sequence
features: the token's own syllable n-grams). The vocabulary is learned at training (keys seen
`min_count` times, the `max_features` most frequent) and stored with the model; keys it does
not know are ignored.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type

import numpy as np
import pypinyin
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

from nlu import pinyin
from nlu.code_fingerprint import code_fingerprint

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "pinyin_vocabulary.json"
# The token cache is per process and shared by instances; tokens repeat a lot, so this keeps
# the per-message cost at a dictionary lookup for nearly every token.
_TOKEN_CACHE_SIZE = 16384


def _is_han(char: str) -> bool:
    # The ranges pinyin.han_count counts: CJK unified ideographs, extension A, compatibility.
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


@functools.lru_cache(maxsize=_TOKEN_CACHE_SIZE)
def token_syllables(text: str, fuzzy: bool = True) -> Tuple[str, ...]:
    """The syllables of the Chinese characters of a token (others have no sound here)."""
    read = pinyin.syllables(text)
    kept = tuple(syllable for char, syllable in zip(text, read, strict=True) if _is_han(char))
    return tuple(pinyin.fuzzy(s) for s in kept) if fuzzy else kept


def ngrams(syllables: Sequence[str], sizes: Sequence[int]) -> List[str]:
    """Every n-gram of the syllables for each n in `sizes`, as space-joined keys."""
    return [" ".join(syllables[i : i + n]) for n in sizes for i in range(len(syllables) - n + 1)]


@functools.lru_cache(maxsize=_TOKEN_CACHE_SIZE)
def _token_keys(text: str, fuzzy: bool, sizes: Tuple[int, ...]) -> Tuple[str, ...]:
    return tuple(ngrams(token_syllables(text, fuzzy), sizes))


def sentence_keys(tokens: Iterable[str], fuzzy: bool, sizes: Sequence[int]) -> List[str]:
    """The syllable n-grams of a sentence; n-grams span tokens but not non-Chinese tokens."""
    keys: List[str] = []
    run: List[str] = []
    for text in list(tokens) + [""]:
        read = token_syllables(text, fuzzy)
        if read:
            run.extend(read)
            continue
        keys += ngrams(run, sizes)
        run = []
    return keys


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class PinyinFeaturizer(SparseFeaturizer, GraphComponent):
    """Counts of toneless (by default fuzzy) syllable n-grams per token and per sentence."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Reads the tokens of the pipeline's tokenizer."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Fuzzy syllables, uni- and bigrams, keys seen twice, at most 4000, sentence only."""
        return {
            **SparseFeaturizer.get_default_config(),
            "fuzzy": True,
            "ngram_sizes": [1, 2],
            "min_count": 2,
            "max_features": 4000,
            # Per-token features too: measured no more accurate on the sound-alike subsets, and
            # ~3 % more parse time (one more matrix per message for DIET to join and read).
            "sequence_features": False,
        }

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """N-gram sizes are positive integers; counts are positive."""
        sizes = config.get("ngram_sizes", [1, 2])
        if not sizes or any(not isinstance(n, int) or n < 1 for n in sizes):
            raise InvalidConfigException(f"ngram_sizes must be positive integers: {sizes!r}")
        for name in ("min_count", "max_features"):
            if int(config.get(name, 1)) < 1:
                raise InvalidConfigException(f"{name} must be at least 1: {config[name]!r}")

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrains when the reading changes: pypinyin's version or the fuzzy folding."""
        source = repr((pypinyin.__version__, pinyin._INITIALS, pinyin._FINALS))
        code = code_fingerprint(["nlu.pinyin_featurizer", "nlu.pinyin"])
        return hashlib.sha256(source.encode()).hexdigest() + ":" + code

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        vocabulary: Optional[Dict[str, int]] = None,
    ) -> None:
        """Keeps the settings and the learned key → column vocabulary."""
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._fuzzy = bool(self._config["fuzzy"])
        self._sizes = tuple(sorted(set(self._config["ngram_sizes"])))
        self._with_sequence = bool(self._config["sequence_features"])
        self.vocabulary: Dict[str, int] = vocabulary or {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PinyinFeaturizer:
        """An untrained featurizer (training time)."""
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PinyinFeaturizer:
        """The featurizer with the vocabulary stored in the model (none if nothing stored)."""
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = read_json_file(directory / VOCABULARY_FILE)
        except (ValueError, FileNotFoundError):
            logger.debug(f"No pinyin vocabulary in resource '{resource.name}'.")
            vocabulary = {}
        return cls(config, model_storage, resource, execution_context, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        """Learns the vocabulary from the training examples and stores it."""
        counts: Counter = Counter()
        for example in training_data.training_examples:
            tokens = example.get(TOKENS_NAMES[TEXT])
            if tokens:
                texts = [token.text for token in tokens]
                # A sentence's keys include its tokens' keys.
                counts.update(sentence_keys(texts, self._fuzzy, self._sizes))
        frequent = [(key, n) for key, n in counts.items() if n >= self._config["min_count"]]
        frequent.sort(key=lambda item: (-item[1], item[0]))
        kept = sorted(key for key, _ in frequent[: self._config["max_features"]])
        self.vocabulary = {key: column for column, key in enumerate(kept)}
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes the vocabulary into model storage."""
        with self._model_storage.write_to(self._resource) as directory:
            dump_obj_as_json_to_file(directory / VOCABULARY_FILE, self.vocabulary)

    def sequence_features(self, tokens: Sequence[Token]) -> scipy.sparse.coo_matrix:
        """One row per token: the counts of the token's own syllable n-grams."""
        vocabulary = self.vocabulary
        cells: Counter = Counter(
            (row, vocabulary[key])
            for row, token in enumerate(tokens)
            for key in _token_keys(token.text, self._fuzzy, self._sizes)
            if key in vocabulary
        )
        return _counts(cells, (len(tokens), len(vocabulary)))

    def sentence_features(self, tokens: Sequence[Token]) -> scipy.sparse.coo_matrix:
        """One row: the counts of the sentence's syllable n-grams."""
        vocabulary = self.vocabulary
        keys = sentence_keys([token.text for token in tokens], self._fuzzy, self._sizes)
        columns = Counter(vocabulary[key] for key in keys if key in vocabulary)
        return _counts({(0, column): n for column, n in columns.items()}, (1, len(vocabulary)))

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the sound features to every message with tokens."""
        if not self.vocabulary:  # untrained or nothing learned: add no (zero-width) features
            return messages
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if tokens:
                sequence = self.sequence_features(tokens) if self._with_sequence else None
                sentence = self.sentence_features(tokens)
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the training examples in place."""
        self.process(training_data.training_examples)
        return training_data


def _counts(cells: Dict[Tuple[int, int], int], shape: Tuple[int, int]) -> scipy.sparse.coo_matrix:
    """A COO count matrix from (row, column) → count, entries in row-major order."""
    ordered = sorted(cells)
    return scipy.sparse.coo_matrix(
        (
            np.array([cells[cell] for cell in ordered], dtype=np.float64),
            (
                np.array([row for row, _ in ordered], dtype=np.int32),
                np.array([column for _, column in ordered], dtype=np.int32),
            ),
        ),
        shape=shape,
    )
