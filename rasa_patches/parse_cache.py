"""A feature, not a fix: the NLU parse of texts users send again and again ("确认取消", "是的",
"1", "谢谢") remembered per process.

An optimisation Rasa 3.6 lacks: `MessageProcessor` runs the whole NLU
graph (normaliser, jieba, entity rules, featurisers, DIET) for every message, ~40 % of a turn's
CPU in a py-spy profile here, although the parse is a pure function of the text once a model is
loaded: no NLU node of ours reads the tracker, the message's metadata or its id (`apply` checks
the model's graph: a pipeline whose NLU part needs the tracker is never cached). The cache is
one per processor, so a newly loaded model starts with an empty one.

What is kept is personal-data free: a text with anything `redaction.text.redact_text` would
hide (a phone, a code, any long run of digits, spoken or typed) or a parse holding a phone or
code entity is parsed and never stored, so this process keeps no number it would not log.
Only conversation turns use it: `/model/parse` (no tracker; evaluation tools and the bench's
NLU floor call it) always runs the model. Each caller gets its own deep copy (Rasa's
processor writes into the parse it is given).
`PARSE_CACHE_SIZE` sets how many texts are kept (least recently used first out; 0 turns the
cache off: then the entry point does not install it at all, and lists it as off; the name
`parse_cache` in RASA_PATCHES_DISABLE does the same); `stats()` counts hits and misses. Drop
this if Rasa gets a parse cache of its own.
"""

from __future__ import annotations

import contextvars
import copy
import os
import threading
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.graph import GraphSchema
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, TEXT

from redaction.text import redact_text

SIZE_ENV = "PARSE_CACHE_SIZE"
DEFAULT_SIZE = 2048
MAX_TEXT_CHARS = 200  # longer texts are rarely repeated word for word
PERSONAL_ENTITIES = frozenset({"phone_number", "verification_code"})
_Key = Tuple[str, bool]


class ParseCache:
    """A bounded least-recently-used map from (text, only_output_properties) to a parse."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[_Key, Dict[str, Any]] = OrderedDict()
        # Sanic runs one loop per process, but the NLU may also be called from a thread pool.
        self._lock = threading.Lock()

    def get(self, key: _Key) -> Optional[Dict[str, Any]]:
        """A copy of the parse stored under `key`, or None (counted as a hit or a miss)."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return copy.deepcopy(found)

    def put(self, key: _Key, parse: Dict[str, Any]) -> None:
        """Keeps a copy of `parse` under `key`, unless it holds personal data."""
        if self.size <= 0 or not cacheable(key[0], parse):
            return
        stored = copy.deepcopy(parse)
        with self._lock:
            self._items[key] = stored
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def cacheable(text: Optional[str], parse: Dict[str, Any]) -> bool:
    """Whether a parse may be kept: short text, nothing redactable, no phone or code entity."""
    if not text or len(text) > MAX_TEXT_CHARS or redact_text(text) != text:
        return False
    if redact_text(str(parse.get(TEXT, ""))) != parse.get(TEXT, ""):
        return False
    return not any(e.get(ENTITY_ATTRIBUTE_TYPE) in PERSONAL_ENTITIES for e in parse[ENTITIES])


def nlu_reads_tracker(schema: GraphSchema, nlu_target: str) -> bool:
    """Whether any node the NLU target depends on needs the tracker placeholder."""
    seen, todo = set(), [nlu_target]
    while todo:
        name = todo.pop()
        if name in seen or name not in schema.nodes:
            continue
        seen.add(name)
        needs = schema.nodes[name].needs.values()
        if PLACEHOLDER_TRACKER in needs:
            return True
        todo.extend(needs)
    return False


def configured_size(env: Optional[Mapping[str, str]] = None) -> int:
    """PARSE_CACHE_SIZE from `env` (default: the environment; unset: 2048; 0 or less: off)."""
    raw = (os.environ if env is None else env).get(SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_SIZE
    try:
        return int(raw)
    except ValueError as error:
        raise ValueError(f"{SIZE_ENV} must be a whole number, got {raw!r}") from error


def switch(env: Mapping[str, str]) -> Tuple[bool, str]:
    """Whether PARSE_CACHE_SIZE turns the cache on, and the setting, for the start-up log."""
    size = configured_size(env)
    return size > 0, f"{SIZE_ENV}={size}"


def cache_of(processor: MessageProcessor) -> Optional[ParseCache]:
    """The processor's cache (made on first use), or None when off or unsafe for its model."""
    cache = processor.__dict__.get("_parse_cache", False)
    if cache is False:
        size = configured_size()
        unsafe = nlu_reads_tracker(
            processor.model_metadata.predict_schema, processor.model_metadata.nlu_target
        )
        cache = None if size <= 0 or unsafe else ParseCache(size)
        processor.__dict__["_parse_cache"] = cache
    return cache


_original = MessageProcessor._parse_message_with_graph
_original_parse_message = MessageProcessor.parse_message
# Set while a conversation turn (a parse with a tracker) is being parsed.
_in_turn: contextvars.ContextVar[bool] = contextvars.ContextVar("parse_cache_turn", default=False)


async def parse_message(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[DialogueStateTracker] = None,
    only_output_properties: bool = True,
) -> Dict[str, Any]:
    """`MessageProcessor.parse_message`, with the cache allowed when a tracker is given."""
    token = _in_turn.set(tracker is not None)
    try:
        return await _original_parse_message(self, message, tracker, only_output_properties)
    finally:
        _in_turn.reset(token)


def cached_parse(
    self: MessageProcessor,
    message: UserMessage,
    tracker: DialogueStateTracker,
    only_output_properties: bool = True,
) -> Dict[str, Any]:
    """`MessageProcessor._parse_message_with_graph`, answered from the cache when it can be."""
    cache = cache_of(self) if _in_turn.get() else None
    if cache is None or not isinstance(message.text, str):
        return _original(self, message, tracker, only_output_properties)
    key = (message.text, only_output_properties)
    found = cache.get(key)
    if found is not None:
        return found
    parse = _original(self, message, tracker, only_output_properties)
    cache.put(key, parse)
    return parse


def stats(processor: MessageProcessor) -> Dict[str, int]:
    """Hits, misses and texts kept by the processor's cache (zeros when it has none)."""
    cache = cache_of(processor)
    if cache is None:
        return {"hits": 0, "misses": 0, "size": 0}
    return {"hits": cache.hits, "misses": cache.misses, "size": len(cache)}


def apply() -> None:
    """Makes the server's processor look parses up before running the NLU graph."""
    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
    MessageProcessor._parse_message_with_graph = cached_parse  # type: ignore[method-assign]
