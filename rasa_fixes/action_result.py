"""Validating the action server's answer with one prepared validator instead of a new one.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`
for every action call. With the jsonschema Rasa pins (4.17) that first checks the schema
itself against the draft 2020-12 meta-schema and builds a new validator: about 250 ms of CPU
per call here, ~80 % of a form turn's time. The schema is a constant, so it is checked once
and the validator reused; the validation of each answer is unchanged (same errors, same
message). If a Rasa upgrade stops calling `jsonschema.validate` there, drop this module.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator: Optional[Validator] = None


def response_validator() -> Validator:
    """The validator of the action server's response format, built and checked once."""
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's `_validate_action_result`, with the prepared validator."""
    try:
        response_validator().validate(result)
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
