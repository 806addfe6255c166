"""rasa_patches.action_result and event_types keep Rasa's behaviour, only drop repeated work."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

from rasa_patches import action_result, event_types


@pytest.fixture(autouse=True)
def fixed() -> None:
    action_result.apply()
    event_types.apply()


def _remote() -> RemoteAction:
    return RemoteAction("action_x", None)


def test_the_action_result_check_is_the_fixed_one() -> None:
    """apply() replaced Rasa's method and the schema is checked once, then reused."""
    assert RemoteAction._validate_action_result is action_result.validate_action_result
    assert action_result.response_validator() is action_result.response_validator()
    assert len(action_result.response_validator()[1]) == 23  # one per event type


def test_valid_action_results_pass() -> None:
    """A well-formed answer from the action server is accepted."""
    result = {
        "events": [{"event": "slot", "name": "x", "value": 1, "timestamp": None}],
        "responses": [{"text": "你好"}],
    }
    assert _remote()._validate_action_result(result) is True


@pytest.mark.parametrize(
    "result",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": "not a list"},
        {"responses": [1]},
    ],
)
def test_malformed_action_results_are_refused_as_rasa_does(result) -> None:
    """A malformed answer raises ValidationError with Rasa's explanation appended."""
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        _remote()._validate_action_result(result)


def test_event_types_resolve_to_the_same_classes() -> None:
    """Every event type name gives Rasa's class, before and after it is remembered."""
    for cls in (SlotSet, UserUttered, ActionExecuted):
        assert Event.resolve_by_type(cls.type_name) is cls
        assert Event.resolve_by_type(cls.type_name) is cls
    assert event_types._known["slot"] is SlotSet


def test_unknown_event_types_behave_as_in_rasa() -> None:
    """An unknown name gives the default, or Rasa's error; 'topic' gives None."""
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert "no_such_event" not in event_types._known
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_events_still_deserialise() -> None:
    """Event.from_parameters goes through the fixed lookup and builds the right events."""
    event = Event.from_parameters({"event": "slot", "name": "a", "value": "b"})
    assert event == SlotSet("a", "b")


_SCHEMA = RemoteAction.action_response_format_spec()
_BRANCHES = _SCHEMA["properties"]["events"]["items"]["oneOf"]
_NAMES = [branch["properties"]["event"]["const"] for branch in _BRANCHES]
_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
)
_VALUES = (
    _SCALARS
    | st.lists(_SCALARS, max_size=2)
    | st.dictionaries(st.text(max_size=5), _SCALARS, max_size=2)
)
_FIELDS = st.sampled_from(
    ["name", "text", "value", "timestamp", "metadata", "parse_data", "policy", "confidence",
     "entities", "input_channel", "data", "action_text", "date_time", "kill_on_user_msg",
     "intent", "hide_rule_turn", "message_id"]
)  # fmt: skip
_EVENTS = st.builds(
    lambda name, extra: {"event": name, **extra},
    st.sampled_from(_NAMES) | st.text(max_size=6),
    st.dictionaries(_FIELDS, _VALUES, max_size=4),
)
_ANSWERS = st.fixed_dictionaries(
    {"events": st.lists(_EVENTS, max_size=4)},
    optional={"responses": st.lists(st.dictionaries(st.text(max_size=3), _VALUES), max_size=2)},
)


def _rasa_accepts(answer: dict) -> bool:
    try:
        jsonschema.validate(answer, _SCHEMA)
        return True
    except ValidationError:
        return False


def _fixed_accepts(answer: dict) -> bool:
    try:
        return _remote()._validate_action_result(answer)
    except ValidationError:
        return False


@settings(max_examples=400, deadline=None)
@given(_ANSWERS)
def test_the_same_answers_pass_and_fail_as_with_rasa(answer: dict) -> None:
    """Checking each event against its own branch accepts exactly what Rasa's oneOf accepts."""
    assert _fixed_accepts(answer) == _rasa_accepts(answer)
