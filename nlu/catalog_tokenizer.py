"""Jieba tokenizer whose custom dictionary is built from the membership catalog."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import load_catalog
from nlu import jieba_words

logger = logging.getLogger(__name__)


def catalog_fingerprint(path: Optional[str]) -> Optional[str]:
    """A hash of the catalog file, so that editing the catalog retrains the model."""
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CatalogJiebaTokenizer(JiebaTokenizer):
    """Jieba with the catalog's names and the domain vocabulary kept as whole words."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Jieba's defaults plus `catalog`, the path of the catalog file read at training."""
        return {**JiebaTokenizer.get_default_config(), "catalog": "data/catalog.yml"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrains when the catalog changes although no training data did."""
        return catalog_fingerprint(config.get("catalog"))

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        words: List[str],
    ) -> None:
        """Keeps the word list to persist it with the model."""
        super().__init__(config, model_storage, resource)
        self._words = words
        jieba_words.register_words(words)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CatalogJiebaTokenizer:
        """Builds the dictionary from the catalog (training time)."""
        words = jieba_words.catalog_words(load_catalog(config["catalog"]))
        return cls(config, model_storage, resource, words)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CatalogJiebaTokenizer:
        """Loads the dictionary saved in the model, not the catalog file."""
        with model_storage.read_from(resource) as directory:
            words = jieba_words.read_words(directory)
        return cls(config, model_storage, resource, words)

    def train(self, training_data: TrainingData) -> Resource:
        """Saves the dictionary into the model."""
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes the word list into model storage."""
        with self._model_storage.write_to(self._resource) as directory:
            jieba_words.write_words(directory, self._words)
