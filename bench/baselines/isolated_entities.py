"""The catalog entity extractor with a private jieba, for the ablations.

The shipped `CatalogEntityExtractor` adds the catalog's words to jieba's process-wide
dictionary when it trains and loads. In a pipeline whose tokenizer is plain jieba that
would quietly give the tokenizer the custom dictionary back (at inference, not in
training), so the ablations use this subclass: the same patterns and values, but its
spaCy pipeline segments with its own `jieba.Tokenizer` and the global one stays stock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import load_catalog
from nlu import jieba_words
from nlu.catalog_entities import CatalogEntityExtractor, number_patterns, service_patterns

PATTERNS_FILE = "patterns.json"


def private_pipeline(patterns: List[Dict[str, Any]], words: List[str]) -> Any:
    """A blank Chinese spaCy pipeline whose jieba knows `words`, with an EntityRuler."""
    import jieba
    import spacy

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    segmenter = jieba.Tokenizer()
    for word in words:
        segmenter.add_word(word, freq=jieba_words.WORD_FREQUENCY)
    # spaCy's Chinese tokenizer calls `self.jieba_seg.cut`: any jieba.Tokenizer fits.
    nlp.tokenizer.jieba_seg = segmenter
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(patterns)
    return nlp


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class IsolatedCatalogEntityExtractor(CatalogEntityExtractor):
    """`CatalogEntityExtractor` that leaves jieba's global dictionary untouched."""

    def train(self, training_data: TrainingData) -> Resource:
        """Builds the ruler from the catalog and saves its patterns and words in the model."""
        catalog = load_catalog(self._config["catalog"])
        self._words = jieba_words.catalog_words(catalog)
        patterns = service_patterns(catalog) + number_patterns()
        self._nlp = private_pipeline(patterns, self._words)
        with self._model_storage.write_to(self._resource) as directory:
            (Path(directory) / PATTERNS_FILE).write_text(
                json.dumps(patterns, ensure_ascii=False), encoding="utf-8"
            )
            jieba_words.write_words(directory, self._words)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> IsolatedCatalogEntityExtractor:
        """Rebuilds the ruler from the saved patterns, with a private segmenter."""
        with model_storage.read_from(resource) as directory:
            words = jieba_words.read_words(directory)
            patterns = json.loads((Path(directory) / PATTERNS_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, private_pipeline(patterns, words), words)
