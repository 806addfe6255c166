"""rasa_patches.parse_cache: a turn's parse from the cache is the model's own, personal texts are
never kept, each caller gets its own copy, and /model/parse always runs the model."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data

from rasa_patches import parse_cache
from tests.e2e.bot import ROOT, latest_model


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(latest_model()))


@pytest.fixture()
def patched(monkeypatch: pytest.MonkeyPatch) -> Any:
    saved = (MessageProcessor.parse_message, MessageProcessor._parse_message_with_graph)
    monkeypatch.delenv("PARSE_CACHE_SIZE", raising=False)
    parse_cache.apply()
    parse_cache.apply()  # idempotent
    yield
    MessageProcessor.parse_message, MessageProcessor._parse_message_with_graph = saved


@pytest.fixture()
def fresh(agent: Agent) -> MessageProcessor:
    """The agent's processor with no cache made yet."""
    agent.processor.__dict__.pop("_parse_cache", None)
    yield agent.processor
    agent.processor.__dict__.pop("_parse_cache", None)


def _turns(processor: MessageProcessor, texts: List[str]) -> List[Dict[str, Any]]:
    """Each text parsed as a conversation turn (with a tracker), as Rasa's processor does."""
    tracker = DialogueStateTracker.from_events("parse-cache-test", [])

    async def run() -> List[Dict[str, Any]]:
        return [await processor.parse_message(UserMessage(t), tracker) for t in texts]

    return asyncio.run(run())


def _held_out_texts() -> List[str]:
    held_out = load_data(str(ROOT / "tests" / "nlu_holdout.yml"))
    return [m.get("text") for m in held_out.training_examples]


def test_the_shipped_nlu_does_not_read_the_tracker(agent: Agent) -> None:
    meta = agent.processor.model_metadata
    assert not parse_cache.nlu_reads_tracker(meta.predict_schema, meta.nlu_target)
    # The core part does: the walk would see it if the NLU needed it.
    assert parse_cache.nlu_reads_tracker(meta.predict_schema, meta.core_target)


def test_cached_turns_equal_the_models_parses(
    agent: Agent, fresh: MessageProcessor, patched: None
) -> None:
    texts = _held_out_texts()
    processor = fresh
    processor.__dict__["_parse_cache"] = None  # off: the model's own parses
    theirs = _turns(processor, texts)
    processor.__dict__.pop("_parse_cache")
    first = _turns(processor, texts)
    again = _turns(processor, texts)
    assert first == theirs
    assert again == theirs  # intents, rankings, confidences and entities to the last digit
    stats = parse_cache.stats(processor)
    kept = sum(parse_cache.cacheable(t, p) for t, p in zip(texts, theirs, strict=True))
    assert 0 < stats["size"] <= kept < len(texts)  # texts with numbers were not kept
    assert stats["hits"] >= kept


def test_personal_texts_are_parsed_and_never_kept(fresh: MessageProcessor, patched: None) -> None:
    personal = ["13800138000", "验证码 482913", "幺三八零零幺三八零零零", "我的号是138 0013 8000"]
    _turns(fresh, personal * 2)
    cache = parse_cache.cache_of(fresh)
    assert cache is not None and len(cache) == 0
    assert cache.hits == 0 and cache.misses == 2 * len(personal)
    assert all(
        "138" not in text and "482913" not in text
        for text, _ in cache._items  # noqa: SLF001
    )


def test_each_caller_gets_its_own_copy(fresh: MessageProcessor, patched: None) -> None:
    first = _turns(fresh, ["确认取消"])[0]
    first["intent"]["name"] = "changed"
    first["entities"].append({"entity": "x"})
    second, third = _turns(fresh, ["确认取消", "确认取消"])
    assert second["intent"]["name"] != "changed"
    assert second["entities"] == third["entities"] != first["entities"]
    second["intent_ranking"].clear()
    assert third["intent_ranking"]


def test_model_parse_api_always_runs_the_model(
    agent: Agent, fresh: MessageProcessor, patched: None
) -> None:
    async def api(text: str) -> Dict[str, Any]:
        return await agent.parse_message(text)

    asyncio.run(api("谢谢"))
    asyncio.run(api("谢谢"))
    assert parse_cache.stats(fresh) == {"hits": 0, "misses": 0, "size": 0}


@pytest.mark.parametrize("value", ["0", "-1"])
def test_size_zero_turns_it_off(
    fresh: MessageProcessor, patched: None, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PARSE_CACHE_SIZE", value)
    _turns(fresh, ["谢谢", "谢谢"])
    assert parse_cache.cache_of(fresh) is None


def test_a_bad_size_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSE_CACHE_SIZE", "lots")
    with pytest.raises(ValueError, match="PARSE_CACHE_SIZE must be a whole number"):
        parse_cache.configured_size()


def _parse(text: str, entities: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    return {"text": text, "intent": {"name": "inform"}, "entities": entities or []}


def test_least_recently_used_text_goes_first() -> None:
    cache = parse_cache.ParseCache(2)
    for text in ("一", "二"):
        cache.put((text, True), _parse(text))
    assert cache.get(("一", True)) is not None  # 一 is now the most recent
    cache.put(("三", True), _parse("三"))
    assert cache.get(("二", True)) is None
    assert cache.get(("一", True)) == _parse("一")
    assert len(cache) == 2 and cache.hits == 2 and cache.misses == 1


@pytest.mark.parametrize(
    ("text", "entities", "kept"),
    [
        ("确认取消", [], True),
        ("取消腾讯视频", [{"entity": "service", "value": "腾讯视频"}], True),
        ("号码13800138000", [], False),
        ("482 913", [], False),
        ("就这个", [{"entity": "phone_number", "value": "13800138000"}], False),
        ("就这个", [{"entity": "verification_code", "value": "482913"}], False),
        ("长" * 201, [], False),
        ("", [], False),
    ],
)
def test_what_may_be_kept(text: str, entities: List[Dict[str, Any]], kept: bool) -> None:
    assert parse_cache.cacheable(text, _parse(text, entities)) is kept
