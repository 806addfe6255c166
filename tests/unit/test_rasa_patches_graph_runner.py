"""The sequential graph runner gives what Rasa's dask runner gives, with less work per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Type

import pytest
import rasa.core.processor
import rasa.model_training
from rasa.core.channels import UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine import loader
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import (
    ExecutionContext,
    GraphComponent,
    GraphNodeHook,
    GraphSchema,
    SchemaNode,
)
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.runner.interface import GraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY

from rasa_patches import graph_runner
from rasa_patches.graph_runner import SequentialGraphRunner

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = [DaskGraphRunner, SequentialGraphRunner]


class _Halt(RasaException, RuntimeError):
    """A Rasa error GraphNode lets through, and a RuntimeError the runner wraps."""


# A hand-built graph: a=1, b=2, total=a+b, scaled=total*__x__, spare=10 (needed by none).
class _Value(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _Value:
        return cls(config)

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config

    def provide(self) -> Any:
        if self.config.get("fail"):
            raise self.config["fail"]("failing on purpose")
        return self.config["value"]

    def add(self, x: Any, y: Any) -> Any:
        return x + y

    def multiply(self, x: Any, y: Any) -> Any:
        return x * y


def _node(fn: str, needs: Optional[Dict[str, str]] = None, **config: Any) -> SchemaNode:
    return SchemaNode(needs or {}, _Value, "create", fn, config, eager=True)


SCHEMA = GraphSchema(
    {
        "a": _node("provide", value=1),
        "b": _node("provide", value=2),
        "total": _node("add", {"x": "a", "y": "b"}),
        "scaled": _node("multiply", {"x": "total", "y": "__x__"}),
        "spare": _node("provide", value=10),
        "broken": _node("provide", fail=ValueError),
        "halted": _node("provide", fail=_Halt),
    }
)


class _Record(GraphNodeHook):
    """Notes which nodes ran."""

    def __init__(self) -> None:
        self.ran: List[str] = []

    def on_before_node(self, node_name: str, *args: Any, **kwargs: Any) -> Dict:
        self.ran.append(node_name)
        return {}

    def on_after_node(self, *args: Any, **kwargs: Any) -> None:
        return None


def _small(runner: Type[GraphRunner], tmp_path: Path) -> Tuple[GraphRunner, _Record]:
    record = _Record()
    context = ExecutionContext(graph_schema=SCHEMA, model_id="test")
    return runner.create(SCHEMA, LocalModelStorage(tmp_path), context, [record]), record


@pytest.mark.parametrize("runner", RUNNERS)
def test_only_the_needed_nodes_run_once_each(runner, tmp_path: Path) -> None:
    """A target subset runs its ancestors once each, parents first, and returns only it."""
    graph, record = _small(runner, tmp_path)
    assert graph.run({"__x__": 4}, ["scaled", "total"]) == {"scaled": 12, "total": 3}
    assert sorted(record.ran) == ["a", "b", "scaled", "total"]
    assert record.ran.index("total") > max(record.ran.index("a"), record.ran.index("b"))
    record.ran.clear()
    assert graph.run(targets=["total"]) == {"total": 3}  # a second, different plan
    assert sorted(record.ran) == ["a", "b", "total"]


@pytest.mark.parametrize("runner", RUNNERS)
def test_inputs_are_given_as_dask_gives_them(runner, tmp_path: Path) -> None:
    """An input named like a node replaces it; a missing input is the node's GraphRunError."""
    graph, record = _small(runner, tmp_path)
    assert graph.run({"total": 5, "__x__": 2}, ["scaled"]) == {"scaled": 10}
    assert sorted(record.ran) == ["a", "b", "scaled"]  # the replaced node's parents still run
    assert graph.run({"__x__": [7]}, ["__x__"]) == {"__x__": [7]}  # an input as target
    with pytest.raises(GraphRunError, match="Missing input to run node 'scaled'"):
        graph.run(targets=["scaled"])


@pytest.mark.parametrize("runner", RUNNERS)
def test_an_input_value_naming_a_node_is_refused(runner, tmp_path: Path) -> None:
    """Dask's check: a string input value equal to a node's name raises GraphRunError."""
    graph, record = _small(runner, tmp_path)
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        graph.run({"__x__": "total"}, ["scaled"])
    assert record.ran == []


@pytest.mark.parametrize("runner", RUNNERS)
def test_errors_propagate_as_with_dask(runner, tmp_path: Path) -> None:
    """A component's error stays Rasa's GraphComponentException; a RuntimeError is wrapped."""
    graph, _ = _small(runner, tmp_path)
    with pytest.raises(GraphComponentException, match="node broken"):
        graph.run(targets=["broken"])
    with pytest.raises(GraphRunError, match="Error running runner") as raised:
        graph.run(targets=["halted"])
    assert isinstance(raised.value.__cause__, _Halt)
    with pytest.raises(KeyError):
        graph.run(targets=["total", "no_such_node"])


def test_the_plan_is_worked_out_once_per_targets(tmp_path: Path, monkeypatch) -> None:
    """The minimal schema is computed on a tuple of targets' first run only."""
    graph, _ = _small(SequentialGraphRunner, tmp_path)
    calls = []
    original = GraphSchema.minimal_graph_schema
    monkeypatch.setattr(
        GraphSchema,
        "minimal_graph_schema",
        lambda self, targets=None: calls.append(targets) or original(self, targets),
    )
    for _ in range(3):
        graph.run({"__x__": 1}, ["scaled"])
        graph.run(targets=["total"])
    assert calls == [["scaled"], ["total"]]


def test_apply_swaps_the_processors_runner_only() -> None:
    """apply() makes the processor load with the sequential runner; training keeps dask."""
    original = rasa.core.processor.DaskGraphRunner
    try:
        graph_runner.apply()
        graph_runner.apply()
        assert rasa.core.processor.DaskGraphRunner is SequentialGraphRunner
        assert rasa.model_training.DaskGraphRunner is DaskGraphRunner
        assert SequentialGraphRunner.__mro__[1] is GraphRunner
    finally:
        rasa.core.processor.DaskGraphRunner = original


# The trained model: both runners on the same archive must agree on everything.
MESSAGES = [
    "帮我把腾讯视频的自动续费关了",
    "13800138000",
    "验证码482913",
    "确认取消",
    "先不取消",
    "你好",
    "阿巴阿巴",
    "/greet",
    "我的爱奇艺会员和QQ音乐绿钻都不要了",
    "为什么又扣了我25块钱",
]


def _latest_model() -> Path:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.skip("no trained model in models/ (run `rasa train` first)")
    return models[-1]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Dict[type, Tuple[Any, GraphRunner]]:
    """The model's metadata and prediction runner, once with each runner class."""
    model = _latest_model()
    return {
        runner: loader.load_predict_graph_runner(
            tmp_path_factory.mktemp(runner.__name__), model, LocalModelStorage, runner
        )
        for runner in RUNNERS
    }


def _parse(metadata: Any, runner: GraphRunner, text: str) -> Dict[str, Any]:
    tracker = DialogueStateTracker("parse", metadata.domain.slots)
    results = runner.run(  # as MessageProcessor._parse_message_with_graph
        inputs={"__message__": [UserMessage(text)], "__tracker__": tracker},
        targets=[metadata.nlu_target],
    )
    assert list(results) == [metadata.nlu_target]
    return results[metadata.nlu_target][0].as_dict(only_output_properties=True)


def _predict(metadata: Any, runner: GraphRunner, tracker: DialogueStateTracker) -> Any:
    results = runner.run(  # as MessageProcessor._predict_next_with_tracker
        inputs={"__tracker__": tracker}, targets=[metadata.core_target]
    )
    assert list(results) == [metadata.core_target]
    return results[metadata.core_target]


@pytest.mark.nlu
@pytest.mark.parametrize("text", MESSAGES)
def test_the_model_parses_the_same(loaded, text: str) -> None:
    """Intent, confidence, ranking and entities are the same with both runners."""
    dask_parse, fixed_parse = (_parse(*loaded[runner], text) for runner in RUNNERS)
    assert fixed_parse[INTENT]["name"] == dask_parse[INTENT]["name"]
    assert fixed_parse[INTENT]["confidence"] == pytest.approx(dask_parse[INTENT]["confidence"])
    dask_ranking = dask_parse.get(INTENT_RANKING_KEY, [])
    fixed_ranking = fixed_parse.get(INTENT_RANKING_KEY, [])
    assert [r["name"] for r in fixed_ranking] == [r["name"] for r in dask_ranking]
    assert [r["confidence"] for r in fixed_ranking] == pytest.approx(
        [r["confidence"] for r in dask_ranking]
    )
    assert fixed_parse[ENTITIES] == dask_parse[ENTITIES]


CONVERSATIONS = [
    ["你好", "帮我把腾讯视频的自动续费关了", "13800138000", "验证码482913", "确认取消"],
    ["帮我把腾讯视频的自动续费关了", "先不取消", "谢谢"],
    ["阿巴阿巴", "/greet", "为什么又扣了我25块钱", "转人工"],
]


def _turns(loaded: Dict, runner: type, texts: List[str]) -> List[PolicyPrediction]:
    """Each message parsed with dask, then next actions predicted until action_listen."""
    metadata, graph = loaded[runner]
    dask_metadata, dask_graph = loaded[DaskGraphRunner]
    start = [ActionExecuted("action_session_start"), SessionStarted()]
    tracker = DialogueStateTracker.from_events(
        "turns", [*start, ActionExecuted(ACTION_LISTEN_NAME)], metadata.domain.slots
    )
    predictions = []
    for text in texts:
        parse = _parse(dask_metadata, dask_graph, text)
        tracker.update(UserUttered(text, parse[INTENT], parse[ENTITIES], parse))
        for _ in range(5):
            prediction = _predict(metadata, graph, tracker)
            predictions.append(prediction)
            action = metadata.domain.action_names_or_texts[prediction.max_confidence_index]
            confidence = prediction.max_confidence
            tracker.update(ActionExecuted(action, prediction.policy_name, confidence))
            if action == ACTION_LISTEN_NAME:
                break
    return predictions


@pytest.mark.nlu
@pytest.mark.parametrize("texts", CONVERSATIONS, ids=lambda texts: texts[0])
def test_the_model_predicts_the_same_actions(loaded, texts: List[str]) -> None:
    """The same policy predictions, turn after turn, with both runners."""
    dask_predictions, fixed_predictions = (_turns(loaded, runner, texts) for runner in RUNNERS)
    assert len(dask_predictions) > len(texts)
    assert fixed_predictions == dask_predictions  # probabilities, policy, events, metadata
