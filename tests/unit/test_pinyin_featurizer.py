"""The pinyin featurizer: sound-alike words look alike to DIET; the model keeps its vocabulary."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.pinyin_featurizer import PinyinFeaturizer, sentence_keys

TRAINING = [
    ["我", "要", "取消", "会员"],
    ["帮", "我", "取消", "自动", "续费"],
    ["不想", "续费", "了"],
    ["怎么", "退订", "会员"],
    ["退订", "视频", "会员", "，", "谢谢"],
]


def tokens_message(words: List[str]) -> Message:
    """A message tokenized into exactly `words` (as the pipeline's tokenizer would set it)."""
    tokens, start = [], 0
    for word in words:
        tokens.append(Token(word, start))
        start += len(word)
    message = Message(data={TEXT: "".join(words)})
    message.set(TOKENS_NAMES[TEXT], tokens)
    return message


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="pinyin_featurizer")


def trained(tmp_path, **config: Any) -> PinyinFeaturizer:
    """A featurizer trained on TRAINING (keys seen twice), with sequence features unless told."""
    defaults = {**PinyinFeaturizer.get_default_config(), "sequence_features": True}
    full: Dict[str, Any] = {**defaults, **config}
    tmp_path.mkdir(parents=True, exist_ok=True)
    featurizer = PinyinFeaturizer.create(
        full, LocalModelStorage(tmp_path), Resource("pinyin"), context()
    )
    featurizer.train(TrainingData([tokens_message(words) for words in TRAINING]))
    return featurizer


def features(featurizer: PinyinFeaturizer, words: List[str]):
    """The (sequence, sentence) dense matrices the featurizer adds to a message of `words`."""
    message = tokens_message(words)
    featurizer.process([message])
    sequence, sentence = message.get_sparse_features(TEXT)
    return sequence.features.toarray(), sentence.features.toarray()


@pytest.mark.parametrize(
    ("heard", "meant"),
    [("取销", "取消"), ("续废", "续费"), ("退定", "退订"), ("会圆", "会员")],
)
def test_sound_alike_tokens_get_the_same_features(tmp_path, heard, meant) -> None:
    """A mis-written verb gets exactly the features of the verb it sounds like, and some."""
    featurizer = trained(tmp_path)
    heard_seq, heard_sent = features(featurizer, ["我", "要", heard])
    meant_seq, meant_sent = features(featurizer, ["我", "要", meant])
    np.testing.assert_array_equal(heard_seq, meant_seq)
    np.testing.assert_array_equal(heard_sent, meant_sent)
    assert heard_seq[2].sum() > 0


def test_fuzzy_folding_joins_near_homophones(tmp_path) -> None:
    """shi/si (平翘舌) and ding/din (前后鼻音) read alike unless `fuzzy` is off."""
    assert sentence_keys(["视频"], True, [1, 2]) == sentence_keys(["四频"], True, [1, 2])
    assert sentence_keys(["视频"], False, [1, 2]) != sentence_keys(["四频"], False, [1, 2])
    fuzzy = trained(tmp_path / "fuzzy")
    exact = trained(tmp_path / "exact", fuzzy=False)
    assert "tui din" in fuzzy.vocabulary and "tui ding" in exact.vocabulary
    # 退亭 (tui ting) is not 退订: a different initial is a different word either way.
    assert features(fuzzy, ["退亭"])[0].tolist() != features(fuzzy, ["退订"])[0].tolist()
    assert features(exact, ["退定"])[0].tolist() == features(exact, ["退订"])[0].tolist()


def test_sentence_feature_does_not_depend_on_how_jieba_split_the_words(tmp_path) -> None:
    """取销 split as 取 / 销 gives the sentence feature of 取消 kept whole."""
    featurizer = trained(tmp_path)
    _, whole = features(featurizer, ["我", "要", "取消", "会员"])
    _, split = features(featurizer, ["我", "要", "取", "销", "会员"])
    np.testing.assert_array_equal(whole, split)


def test_round_trip_through_model_storage_gives_the_same_features(tmp_path) -> None:
    """Training stores the vocabulary; loading it back featurizes identically."""
    featurizer = trained(tmp_path)
    loaded = PinyinFeaturizer.load(
        featurizer._config, LocalModelStorage(tmp_path), Resource("pinyin"), context()
    )
    assert loaded.vocabulary == featurizer.vocabulary and loaded.vocabulary
    for words in TRAINING + [["取销", "续废", "退定"]]:
        for a, b in zip(features(featurizer, words), features(loaded, words), strict=True):
            np.testing.assert_array_equal(a, b)


def test_unknown_text_gives_zeros_of_the_right_shape(tmp_path) -> None:
    """Unseen sounds, Latin letters, digits and punctuation add zero rows, never an error."""
    featurizer = trained(tmp_path)
    words = ["Hello", "123", "！", "蝴蝶", "🙂"]
    sequence, sentence = features(featurizer, words)
    assert sequence.shape == (len(words), len(featurizer.vocabulary))
    assert sentence.shape == (1, len(featurizer.vocabulary))
    assert not sequence.any() and not sentence.any()


def test_one_row_per_token_and_counts_in_the_sentence(tmp_path) -> None:
    """The sequence matrix has a row per token; a repeated sound counts twice in the sentence."""
    featurizer = trained(tmp_path)
    words = ["取消", "取消", "会员", "，", "谢谢"]
    sequence, sentence = features(featurizer, words)
    assert sequence.shape[0] == len(words)
    assert sequence[3].sum() == 0  # punctuation has no sound
    qu_xiao = featurizer.vocabulary["qu xiao"]
    assert sequence[0, qu_xiao] == 1 and sentence[0, qu_xiao] == 2


def test_rare_keys_and_the_cap_limit_the_vocabulary(tmp_path) -> None:
    """Keys seen once stay out; max_features keeps the most frequent."""
    featurizer = trained(tmp_path)
    assert "die" not in featurizer.vocabulary and "zi don" not in featurizer.vocabulary
    assert "qu xiao" in featurizer.vocabulary  # twice in TRAINING
    capped = trained(tmp_path / "capped", max_features=3)
    assert len(capped.vocabulary) == 3 and "hui yuan" in capped.vocabulary


def test_a_message_without_tokens_or_an_untrained_featurizer_adds_nothing(tmp_path) -> None:
    """No tokens, or nothing learned: the message gets no features from this component."""
    featurizer = trained(tmp_path)
    empty = Message(data={TEXT: ""})
    featurizer.process([empty])
    assert empty.features == []
    untrained = PinyinFeaturizer.load(
        PinyinFeaturizer.get_default_config(),
        LocalModelStorage(tmp_path / "none"),
        Resource("missing"),
        context(),
    )
    message = tokens_message(["取消"])
    untrained.process([message])
    assert message.features == []


def test_by_default_only_the_sentence_feature_is_added(tmp_path) -> None:
    """With sequence_features off (the default), the sound reaches DIET through the sentence."""
    assert PinyinFeaturizer.get_default_config()["sequence_features"] is False
    featurizer = trained(tmp_path, sequence_features=False)
    message = tokens_message(["我", "要", "取销"])
    featurizer.process([message])
    sequence, sentence = message.get_sparse_features(TEXT)
    assert sequence is None
    _, expected = features(trained(tmp_path / "both"), ["我", "要", "取消"])
    np.testing.assert_array_equal(sentence.features.toarray(), expected)
