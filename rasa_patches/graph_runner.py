"""Running the prediction graph in a fixed order worked out once, not through dask each time.

Rasa 3.6's `DaskGraphRunner.run` is called about three times per user message (the NLU parse
and each next-action prediction). Each call works out again which nodes the targets need
(`GraphSchema.minimal_graph_schema`, recursive), builds a new dask graph, formats a debug line
with the repr of the message and tracker even when debug logging is off, and then pays
dask's scheduling (`order`, `fire_tasks`, ...) to run what is a plain chain of ~15 nodes in one
thread: ~10 % of a turn's CPU in a py-spy profile here; this saves ~0.2 ms per prediction and
~0.45 ms per parse, ~0.8 ms of CPU per message. `SequentialGraphRunner` works out the
nodes and a dependency order once per set of targets and calls the same `GraphNode`s in that
order, with dask's arguments (each parent's `(name, output)`, in `needs` order), its input
clash check, its result and its errors. Only the server's processor uses it; training keeps
dask. If a Rasa upgrade changes `DaskGraphRunner.run` or stops passing `DaskGraphRunner` in
`MessageProcessor._load_model`, check this module against it or drop it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

import rasa.core.processor
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphNode, GraphNodeHook, GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.runner.interface import GraphRunner
from rasa.engine.storage.storage import ModelStorage

# Dask's logger name: Rasa sets the level of the `rasa` logger tree, not of ours.
logger = logging.getLogger(DaskGraphRunner.__module__)

# The node's name, the node, and the names of its parents in `needs` order.
_Step = Tuple[str, GraphNode, Tuple[str, ...]]


class _Plan:
    """What one tuple of targets needs: the nodes' names and a dependencies-first order."""

    def __init__(self, nodes: Dict[str, None], steps: List[_Step]) -> None:
        self.nodes = nodes
        self.steps = steps


class SequentialGraphRunner(GraphRunner):
    """`DaskGraphRunner` for prediction, running the nodes in an order worked out once."""

    def __init__(
        self,
        graph_schema: GraphSchema,
        model_storage: ModelStorage,
        execution_context: ExecutionContext,
        hooks: Optional[List[GraphNodeHook]] = None,
    ) -> None:
        """Instantiates the nodes as `DaskGraphRunner` does."""
        self._graph_schema = graph_schema
        self._instantiated_nodes: Dict[str, GraphNode] = DaskGraphRunner._instantiate_nodes(
            graph_schema, model_storage, execution_context, hooks
        )
        self._execution_context = execution_context
        self._plans: Dict[Tuple[str, ...], _Plan] = {}

    @classmethod
    def create(
        cls,
        graph_schema: GraphSchema,
        model_storage: ModelStorage,
        execution_context: ExecutionContext,
        hooks: Optional[List[GraphNodeHook]] = None,
    ) -> SequentialGraphRunner:
        """Creates the runner (see `GraphRunner.create`)."""
        return cls(graph_schema, model_storage, execution_context, hooks)

    def _plan(self, targets: List[str]) -> _Plan:
        # The same nodes as dask is given: every node the targets need, even one an input
        # replaces (dask still runs that node's parents).
        schema = self._graph_schema.minimal_graph_schema(targets).nodes
        steps: List[_Step] = []
        visited: set = set()

        def visit(name: str) -> None:
            if name in visited or name not in schema:  # not a node: an input or missing
                return
            visited.add(name)
            needs = tuple(schema[name].needs.values())
            for parent in needs:
                visit(parent)
            steps.append((name, self._instantiated_nodes[name], needs))

        for target in targets:
            visit(target)
        return _Plan(dict.fromkeys(schema), steps)

    def run(
        self,
        inputs: Optional[Dict[str, Any]] = None,
        targets: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        """Runs the graph (see `GraphRunner.run`); the same results and errors as dask's."""
        run_targets = targets if targets else self._graph_schema.target_names
        key = tuple(run_targets)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(run_targets)

        # Nodes' names first, then the inputs: dask's clash check sees the same keys.
        graph: Dict[str, Any] = dict(plan.nodes)
        if inputs:
            DaskGraphRunner._add_inputs_to_graph(inputs, graph)
        replaced = inputs or {}

        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                f"Running graph with inputs: {inputs}, targets: {targets} "
                f"and {self._execution_context}."
            )

        try:
            for name, node, needs in plan.steps:
                if name in replaced:  # dask's graph has the input under this key instead
                    continue
                # As dask: a parent's `(name, output)`, or the bare name if nothing provides it.
                graph[name] = node(*[graph.get(need, need) for need in needs])
            return dict(graph[target] for target in run_targets)
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e


def apply() -> None:
    """Makes the server's `MessageProcessor` load its prediction graph with this runner."""
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
