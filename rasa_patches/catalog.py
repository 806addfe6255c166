"""Every patch the entry point applies, in order, with the upstream code each was written for.

After a Rasa (or TensorFlow) upgrade, `python -m rasa_patches.fingerprints` shows which
declarations no longer match; re-check each such patch against the new upstream code (its
module's docstring says what to look for), then update its versions and fingerprints here, or
drop it. Until then it is skipped with a warning, and Rasa's own code runs.
ALWAYS_ON lists features the product needs: the same guard, but RASA_PATCHES and
RASA_PATCHES_DISABLE do not know them (a speed switch must not change what is understood).
"""

from __future__ import annotations

from typing import Tuple

from rasa_patches.guard import FEATURE, Patch

RASA = {"rasa": "3.6.21"}

SPEED_PATCHES: Tuple[Patch, ...] = (
    Patch(
        name="action_result",
        module="rasa_patches.action_result",
        does="the action server's answer validated with a schema checked once",
        written_for=RASA,
        upstream={
            "rasa.core.actions.action:RemoteAction._validate_action_result": "f8cdb4be68123961",
            "rasa.core.actions.action:RemoteAction.action_response_format_spec": (
                "091b74aa3738d126"
            ),
        },
    ),
    Patch(
        name="event_types",
        module="rasa_patches.event_types",
        does="an event's class found by its type name once",
        written_for=RASA,
        upstream={"rasa.shared.core.events:Event.resolve_by_type": "b5cf570fa7f286c7"},
    ),
    Patch(
        name="debug_copies",
        module="rasa_patches.debug_copies",
        does="no deep copies for debug lines that are not emitted",
        written_for=RASA,
        # Whole modules: every deepcopy in them must be a debug-line argument.
        upstream={
            "rasa.core.processor": "f42dfbf26e2ffcb6",
            "rasa.core.actions.forms": "7cb6c30550116597",
            "rasa.core.policies.rule_policy": "952d1a13906511ac",
        },
    ),
    Patch(
        name="graph_runner",
        module="rasa_patches.graph_runner",
        does="the prediction graph run in an order worked out once, not through dask",
        written_for=RASA,
        upstream={
            "rasa.engine.runner.dask:DaskGraphRunner": "78a7d146c5c06d4c",
            "rasa.core.processor:MessageProcessor._load_model": "17f24faf96817bdf",
        },
    ),
    Patch(
        name="rule_lookup",
        module="rasa_patches.rule_lookup",
        does="rules looked up among those the latest action allows",
        written_for=RASA,
        upstream={
            "rasa.core.policies.rule_policy:RulePolicy._get_possible_keys": "2915fd81711e194c",
            "rasa.core.policies.rule_policy:RulePolicy._is_rule_applicable": "64a108b016b46e57",
            "rasa.core.policies.rule_policy:RulePolicy._does_rule_match_state": (
                "d3109c1a97de319c"
            ),
        },
    ),
    Patch(
        name="action_client",
        module="rasa_patches.action_client",
        does="kept-alive action server connections, orjson request bodies",
        written_for=RASA,
        upstream={"rasa.utils.endpoints:EndpointConfig.request": "ccdb778aed8208e2"},
    ),
    Patch(
        name="tracker_json",
        module="rasa_patches.tracker_json",
        does="stored trackers written by orjson",
        written_for=RASA,
        upstream={
            "rasa.core.tracker_store:SerializedTrackerAsText.serialise_tracker": (
                "e969bf6dc6fe886d"
            ),
        },
    ),
    Patch(
        name="slot_copy",
        module="rasa_patches.slot_copy",
        does="slots copied directly, not through copy's reduce protocol",
        written_for=RASA,
        # The whole module: no slot class may have __slots__, __getstate__ or __reduce__.
        upstream={"rasa.shared.core.slots": "409da05daeed522d"},
    ),
    Patch(
        name="sparse_features",
        module="rasa_patches.sparse_features",
        does="a message's sparse features joined in one hstack",
        written_for=RASA,
        upstream={
            "rasa.shared.nlu.training_data.message:Message._combine_features": (
                "6f88fa43154948bd"
            ),
        },
    ),
    Patch(
        name="tf_predict",
        module="rasa_patches.tf_predict",
        does="DIET's traced graph called without TensorFlow's per-call dispatch",
        # It calls TensorFlow 2.12's ConcreteFunction._call_flat: pinned by the version.
        written_for={**RASA, "tensorflow": "2.12.0"},
        upstream={"rasa.utils.tensorflow.models:RasaModel._rasa_predict": "7f745b0f9cb647c9"},
    ),
)

FEATURES: Tuple[Patch, ...] = (
    Patch(
        name="parse_cache",
        module="rasa_patches.parse_cache",
        does="a conversation turn's parse of a repeated, non-personal text taken from a cache",
        written_for=RASA,
        upstream={
            "rasa.core.processor:MessageProcessor.parse_message": "b98d8e49b9f2c433",
            "rasa.core.processor:MessageProcessor._parse_message_with_graph": (
                "0bd50a53b5c013af"
            ),
        },
        kind=FEATURE,
    ),
)

# Not switched by RASA_PATCHES / RASA_PATCHES_DISABLE; still applied only onto matching code.
ALWAYS_ON: Tuple[Patch, ...] = (
    Patch(
        name="nbest",
        module="rasa_patches.nbest",
        does="a spoken turn's ASR hypotheses parsed, the one the dialogue waits for chosen",
        written_for=RASA,
        upstream={
            # Takes message.parse_data as given and logs message.text as the user's words.
            "rasa.core.processor:MessageProcessor._handle_message_with_tracker": (
                "f42e1ae303933d9f"
            ),
            # Called once per hypothesis, with the tracker.
            "rasa.core.processor:MessageProcessor.parse_message": "b98d8e49b9f2c433",
        },
        kind=FEATURE,
    ),
)

SWITCHED: Tuple[Patch, ...] = SPEED_PATCHES + FEATURES
ALL: Tuple[Patch, ...] = SWITCHED + ALWAYS_ON
