"""The custom jieba vocabulary: catalog product names and the domain's own words."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, List

from catalog import Catalog

# High enough that jieba keeps every listed word whole next to any neighbour, so no
# entity or keyword straddles a token boundary.
WORD_FREQUENCY = 200_000
WORDS_FILE = "jieba_words.txt"

_registered: set = set()
_lock = threading.Lock()


def catalog_words(catalog: Catalog) -> List[str]:
    """Every surface form of every product (as written and lower-cased) plus the vocabulary."""
    words: dict = {}
    for product in catalog.products:
        for form in product.surface_forms:
            words[form] = None
            words[form.lower()] = None
    for word in catalog.vocabulary:
        words[word] = None
    return list(words)


def register_words(words: Iterable[str]) -> None:
    """Adds the words to jieba's process-wide dictionary (idempotent)."""
    import jieba

    with _lock:
        for word in words:
            if word and word not in _registered:
                jieba.add_word(word, freq=WORD_FREQUENCY)
                _registered.add(word)


def write_words(directory: Path, words: Iterable[str]) -> Path:
    """Writes the word list into a model-storage directory."""
    path = Path(directory) / WORDS_FILE
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return path


def read_words(directory: Path) -> List[str]:
    """Reads the word list persisted by `write_words`."""
    path = Path(directory) / WORDS_FILE
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]
