"""Entity extractor: a spaCy EntityRuler built from the catalog and from number shapes, and
a sound index of the catalog's names for what a speech recogniser misheard (疼讯视频, 米谷视频)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from catalog import Catalog, load_catalog
from core.phone import COUNTRY_CODE_PATTERN, MOBILE_PATTERN
from nlu import jieba_words
from nlu.catalog_tokenizer import catalog_fingerprint
from nlu.code_fingerprint import code_fingerprint
from nlu.pinyin import SoundIndex, han_count
from nlu.sound_alikes import short_window_counts

logger = logging.getLogger(__name__)

SERVICE = "service"
PHONE = "phone_number"
CODE = "verification_code"
REFERENCE = "reference_number"
SPACY_DIR = "spacy_pipeline"
SOUNDS_FILE = "catalog_sounds.json"
AMBIGUOUS = "ambiguous"  # set on each of several `service` entities read from one sound-alike span
# Names shorter than two Han characters are not indexed: one syllable sounds like too much.
_MIN_HAN = 2

# Token shapes after normalisation (spoken digits are already ASCII, groups joined).
_PHONE = rf"^(?:{COUNTRY_CODE_PATTERN})?{MOBILE_PATTERN}$"  # the core parser's own shapes
_CODE = r"^\d{6}$"
_REF_WHOLE = r"^[Tt][Dd]\d{8}[0-9A-Za-z]{6}$"
_REF_HEAD = r"^[Tt][Dd]\d{8}$"
_DATE8 = r"^\d{8}$"
_SUFFIX6 = r"^[0-9A-Za-z]{6}$"


def number_patterns() -> List[Dict[str, Any]]:
    """EntityRuler token patterns for phone numbers, codes and reference numbers."""
    return [
        {"label": PHONE, "pattern": [{"TEXT": {"REGEX": _PHONE}}]},
        {"label": CODE, "pattern": [{"TEXT": {"REGEX": _CODE}}]},
        {"label": REFERENCE, "pattern": [{"TEXT": {"REGEX": _REF_WHOLE}}]},
        {
            "label": REFERENCE,
            "pattern": [{"TEXT": {"REGEX": _REF_HEAD}}, {"TEXT": {"REGEX": _SUFFIX6}}],
        },
        {
            "label": REFERENCE,
            "pattern": [
                {"LOWER": "td"},
                {"TEXT": {"REGEX": _DATE8}},
                {"TEXT": {"REGEX": _SUFFIX6}},
            ],
        },
        {
            "label": REFERENCE,
            "pattern": [{"LOWER": "td"}, {"TEXT": {"REGEX": r"^\d{8}[0-9A-Za-z]{6}$"}}],
        },
    ]


def service_patterns(catalog: Catalog) -> List[Dict[str, Any]]:
    """One phrase pattern per surface form, its id the canonical product name."""
    return [
        {"label": SERVICE, "pattern": form, "id": product.name}
        for product in catalog.products
        for form in product.surface_forms
    ]


def build_pipeline(catalog: Catalog) -> Any:
    """A blank Chinese spaCy pipeline (jieba segmenter) with the catalog's EntityRuler."""
    import spacy

    jieba_words.register_words(jieba_words.catalog_words(catalog))
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(service_patterns(catalog) + number_patterns())
    return nlp


def sound_index(catalog: Catalog) -> SoundIndex:
    """Every surface form of two or more Han characters, by its fuzzy sound key."""
    index = SoundIndex()
    for product in catalog.products:
        for form in product.surface_forms:
            if han_count(form) >= _MIN_HAN:
                index.add(form, product.name)
    return index


def product_characters(catalog: Catalog) -> Dict[str, str]:
    """Each product's characters in its name and aliases (for the two-character check); not in
    its misspellings, which are often common words (忙果TV would let 忙过 through)."""
    return {
        product.name: "".join(sorted(set("".join((product.name, *product.aliases)))))
        for product in catalog.products
    }


def sound_alike_services(
    text: str,
    index: SoundIndex,
    characters: Dict[str, str],
    taken: List[Any],
    bounds: Callable[[], Set[int]],
) -> List[Dict[str, Any]]:
    """`service` entities for the windows of `text` that sound like a catalog name; several
    candidates for one window come back as one entity each, all marked ambiguous. `bounds`
    gives the sentence's word boundaries (for two-character windows, nlu/sound_alikes.py)."""
    entities: List[Dict[str, Any]] = []
    for match in index.find(text, taken):
        candidates = [
            value
            for value in match.values
            if short_window_counts(text, match.start, match.end, characters.get(value, ""), bounds)
        ]
        for value in candidates:
            entity = {
                "entity": SERVICE,
                "value": value,
                "start": match.start,
                "end": match.end,
                "confidence_entity": 1.0,
            }
            if len(candidates) > 1:
                entity[AMBIGUOUS] = True
            entities.append(entity)
    return entities


def sounds_of(catalog: Catalog) -> Dict[str, Any]:
    """What the extractor saves about how the catalog sounds: the index and the characters."""
    return {"keys": sound_index(catalog).to_dict(), "characters": product_characters(catalog)}


def entity_value(label: str, surface: str, ent_id: str) -> str:
    """The normalised value of a matched entity."""
    if label == SERVICE:
        return ent_id
    if label == PHONE:
        return re.sub(r"\D", "", surface)[-11:]
    if label == REFERENCE:
        return re.sub(r"\s", "", surface).upper()
    return surface


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class CatalogEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds memberships by any catalog name or typo, and phone, code and reference numbers."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """`catalog`: path of the catalog file, read at training time only."""
        return {"catalog": "data/catalog.yml"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """Retrains when the catalog or the matching code changes."""
        code = code_fingerprint(
            ["nlu.catalog_entities", "nlu.pinyin", "nlu.sound_alikes", "nlu.jieba_words"],
            ["pypinyin"],
        )
        return f"{catalog_fingerprint(config.get('catalog'))}:{code}"

    @staticmethod
    def required_packages() -> List[str]:
        """spaCy and jieba."""
        return ["spacy", "jieba"]

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        nlp: Any = None,
        words: Optional[List[str]] = None,
        sounds: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Keeps the pipeline and the sound index (None until trained)."""
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._nlp = nlp
        self._words = words or []
        self._sounds = sounds or {"keys": {}, "characters": {}}
        self._index = SoundIndex(self._sounds["keys"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CatalogEntityExtractor:
        """Creates an untrained extractor."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Builds the ruler from the catalog and saves it, with its words, in the model."""
        catalog = load_catalog(self._config["catalog"])
        self._words = jieba_words.catalog_words(catalog)
        self._nlp = build_pipeline(catalog)
        self._sounds = sounds_of(catalog)
        self._index = SoundIndex(self._sounds["keys"])
        with self._model_storage.write_to(self._resource) as directory:
            self._nlp.to_disk(Path(directory) / SPACY_DIR)
            jieba_words.write_words(directory, self._words)
            (Path(directory) / SOUNDS_FILE).write_text(
                json.dumps(self._sounds, ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CatalogEntityExtractor:
        """Loads the ruler saved at training time; nothing is downloaded."""
        import spacy

        with model_storage.read_from(resource) as directory:
            words = jieba_words.read_words(directory)
            jieba_words.register_words(words)
            nlp = spacy.load(Path(directory) / SPACY_DIR)
            sounds_path = Path(directory) / SOUNDS_FILE
            sounds = (
                json.loads(sounds_path.read_text(encoding="utf-8"))
                if sounds_path.exists()  # a model trained before the sound index: names only
                else None
            )
        return cls(config, model_storage, resource, nlp, words, sounds)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data keeps its own annotations."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the entities found in each message's text."""
        if self._nlp is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = self.extract(text)
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def extract(self, text: str) -> List[Dict[str, Any]]:
        """Entities of `text` with canonical values and character offsets."""
        doc = self._nlp(text)
        entities = [
            {
                "entity": ent.label_,
                "value": entity_value(ent.label_, ent.text, ent.ent_id_),
                "start": ent.start_char,
                "end": ent.end_char,
                "confidence_entity": 1.0,
            }
            for ent in doc.ents
        ]
        # Sound-alikes only where no character match (of any label) already is.
        taken = [(e["start"], e["end"]) for e in entities]
        bounds = lambda: {t.idx for t in doc} | {t.idx + len(t.text) for t in doc}  # noqa: E731
        entities += sound_alike_services(
            text, self._index, self._sounds["characters"], taken, bounds
        )
        entities.sort(key=lambda e: (e["start"], e["end"]))
        return self.add_extractor_name(entities)
