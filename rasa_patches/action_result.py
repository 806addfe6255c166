"""Validating the action server's answer without Rasa's per-call overhead, with the same rules.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`
for every action call. With the jsonschema Rasa pins (4.17) that first checks the schema
itself against the draft 2020-12 meta-schema and builds a new validator: about 250 ms of CPU
per call here, ~80 % of a form turn's time. Then each event is tried against all 23 branches
of the schema's `oneOf` (~3 ms per answer). Here the schema is checked once; the answer is
validated with the events' common part, and each event with the one branch whose `event`
constant is its name. The branches' constants are distinct, so "valid under exactly one
branch" is the same as "valid under the branch of its name": the same answers pass and fail.
If a Rasa upgrade stops calling `jsonschema.validate` there, drop this module.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Tuple

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_prepared: Optional[Tuple[Validator, Dict[str, Validator]]] = None


def response_validator() -> Tuple[Validator, Dict[str, Validator]]:
    """The answer's validator without the per-event `oneOf`, and one validator per event name."""
    global _prepared
    if _prepared is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        items = schema["properties"]["events"]["items"]
        branches = {b["properties"]["event"]["const"]: b for b in items["oneOf"]}
        if len(branches) != len(items["oneOf"]):  # not distinct: the shortcut would not hold
            raise RuntimeError("Rasa's event schema changed: remove rasa_patches.action_result")
        common = {key: value for key, value in items.items() if key != "oneOf"}
        outer = copy.deepcopy(schema)
        outer["properties"]["events"]["items"] = common
        _prepared = (cls(outer), {name: cls(branch) for name, branch in branches.items()})
    return _prepared


def _validate(result: Dict[str, Any]) -> None:
    outer, by_event = response_validator()
    outer.validate(result)
    events = result.get("events") if isinstance(result, dict) else None
    for event in events if isinstance(events, list) else []:
        branch = by_event.get(event["event"])
        if branch is None:
            raise ValidationError(f"{event!r} is not valid under any of the given schemas")
        branch.validate(event)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's `_validate_action_result`, with the prepared validator."""
    try:
        _validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            "For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


def apply() -> None:
    """Replaces the method on Rasa's RemoteAction."""
    RemoteAction._validate_action_result = validate_action_result
