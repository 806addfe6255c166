"""rasa_patches.tf_predict: the same parses, bit for bit, by the direct call."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.tensorflow.models import RasaModel

from rasa_patches import tf_predict
from tests.e2e.bot import ROOT, latest_model


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(latest_model()))


def _parse_all(agent: Agent, texts: List[str]) -> List[Dict[str, Any]]:
    loop = asyncio.new_event_loop()
    try:
        return [loop.run_until_complete(agent.parse_message(t)) for t in texts]
    finally:
        loop.close()


@pytest.fixture()
def patched() -> Any:
    saved = RasaModel.__dict__["_rasa_predict"]
    tf_predict.apply()
    tf_predict.apply()  # idempotent
    yield
    RasaModel._rasa_predict = saved


def test_held_out_parses_are_bit_identical_and_take_the_direct_call(
    agent: Agent, patched: None, monkeypatch
) -> None:
    held_out = load_data(str(ROOT / "tests" / "nlu_holdout.yml"))
    texts = [m.get("text") for m in held_out.training_examples]
    RasaModel._rasa_predict = tf_predict._original
    theirs = _parse_all(agent, texts)
    tf_predict.apply()
    fallbacks: List[int] = []
    original = tf_predict._original

    def counting(self: RasaModel, batch_in: Any) -> Any:
        fallbacks.append(1)
        return original(self, batch_in)

    monkeypatch.setattr(tf_predict, "_original", counting)
    ours = _parse_all(agent, texts)
    assert ours == theirs  # intents, rankings and confidences to the last digit
    assert len(fallbacks) == 0


def test_a_batch_the_signature_would_cast_goes_through_rasa(agent: Agent, patched: None) -> None:
    _parse_all(agent, ["你好"])  # traced
    model = next(
        node._component.model
        for node in agent.processor.graph_runner._instantiated_nodes.values()
        if type(node._component).__name__ == "DIETClassifier"
    )
    concrete, specs = tf_predict._concrete(model)
    good = tuple(
        np.zeros([1 if d is None else d for d in spec.shape.as_list()], spec.dtype.as_numpy_dtype)
        for spec in specs
    )
    assert all(map(tf_predict._fits, good, specs))
    cast = (good[0].astype(np.float16),) + good[1:]
    assert not tf_predict._fits(cast[0], specs[0])
    wrong_rank = (good[0][None, ...],) + good[1:]
    assert not tf_predict._fits(wrong_rank[0], specs[0])
