"""The indexed rule search finds exactly Rasa's applicable rules, in Rasa's set order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

from rasa_patches import rule_lookup

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "tests" / "test_stories.yml"
rasa_search = rule_lookup._original
fixed_search = rule_lookup.get_possible_keys


@pytest.fixture(scope="module")
def policy_and_domain(tmp_path_factory) -> Tuple[RulePolicy, Domain]:
    """The trained RulePolicy (only that node of the newest model) and the model's domain."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=os.path.getmtime)
    if not models:
        pytest.skip("no trained model in models/ (run `rasa train`); these tests never train")
    storage, metadata = LocalModelStorage.from_model_archive(
        tmp_path_factory.mktemp("model"), models[-1]
    )
    for name, node in metadata.predict_schema.nodes.items():
        if isinstance(node.uses, type) and issubclass(node.uses, RulePolicy):
            context = ExecutionContext(metadata.predict_schema, metadata.model_id, False, name)
            config = {**node.uses.get_default_config(), **node.config}
            return node.uses.load(config, storage, node.resource, context), metadata.domain
    pytest.skip(f"{models[-1].name} has no RulePolicy")


@pytest.fixture(scope="module")
def trackers(policy_and_domain) -> List[DialogueStateTracker]:
    """Every prediction point of the test stories, and of all of them in one conversation."""
    _, domain = policy_and_domain
    steps = YAMLStoryReader(domain).read_from_file(STORIES)
    generator = TrainingDataGenerator(
        StoryGraph(steps), domain, use_story_concatenation=False, augmentation_factor=0
    )
    stories = [list(tracker.events) for tracker in generator.generate_story_trackers()]
    stories.append([event for story in stories for event in story])  # a long history
    return [
        DialogueStateTracker.from_events("test", events[:end], slots=domain.slots)
        for events in stories
        for end, event in enumerate(events)
        if end and isinstance(event, ActionExecuted)
    ]


def _real_states(policy: RulePolicy, domain: Domain, trackers) -> Iterator[List[Dict]]:
    """The states RulePolicy searches with, as `_find_action_from_rules` builds them."""
    rule_only_data = policy._get_rule_only_data()
    for tracker in trackers:
        yield policy._prediction_states(tracker, domain, rule_only_data=rule_only_data)
        if tracker.latest_action_name == ACTION_LISTEN_NAME:
            yield policy._prediction_states(
                tracker, domain, use_text_for_last_user_input=True, rule_only_data=rule_only_data
            )


def _same(rasa: set, fixed: set) -> None:
    assert fixed == rasa
    assert list(fixed) == list(rasa)  # the same iteration order: max() breaks ties alike


def test_the_real_rules_are_found_as_rasa_finds_them(policy_and_domain, trackers) -> None:
    """Both lookups of the trained policy, every state list of the test stories: equal sets."""
    policy, domain = policy_and_domain
    found = 0
    for states in _real_states(policy, domain, trackers):
        for lookup in (policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]):
            rasa = rasa_search(policy, lookup, states)
            _same(rasa, fixed_search(policy, lookup, states))
            found += bool(rasa)
    assert found > len(trackers) // 2  # the stories do reach the rules


def test_the_real_predictions_are_rasas(policy_and_domain, trackers, monkeypatch) -> None:
    """The trained policy predicts the same, with the same metadata, with and without the fix."""
    policy, domain = policy_and_domain
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", rasa_search)
    expected = [policy.predict_action_probabilities(t, domain) for t in trackers]
    rule_lookup.apply()
    assert RulePolicy._get_possible_keys is fixed_search
    actual = [policy.predict_action_probabilities(t, domain) for t in trackers]
    assert sum(p.max_confidence == 1.0 for p in actual) > len(actual) // 2  # rules did predict
    for want, got in zip(expected, actual, strict=True):
        assert got == want
        assert got.diagnostic_data == want.diagnostic_data


def test_apply_is_idempotent(monkeypatch) -> None:
    """apply() twice leaves the fixed search in place, and Rasa's one reachable."""
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", rasa_search)
    rule_lookup.apply()
    rule_lookup.apply()
    assert RulePolicy._get_possible_keys is fixed_search
    assert rule_lookup._original is not fixed_search
    assert rule_lookup._original.__module__ == RulePolicy.__module__


def test_nothing_in_rasa_overrides_the_patched_methods() -> None:
    """Only RulePolicy defines the search and the checks the index mirrors."""
    package = Path(rasa_search.__code__.co_filename).parents[2]
    for name in ("_get_possible_keys", "_is_rule_applicable", "_does_rule_match_state"):
        defined_in = [
            path.relative_to(package).as_posix()
            for path in package.rglob("*.py")
            if f"def {name}(" in path.read_text(encoding="utf-8")
        ]
        assert defined_in == ["core/policies/rule_policy.py"], name


def _key(*states: Dict[str, Any]) -> str:
    return json.dumps(list(states))


def test_the_index_follows_the_lookup() -> None:
    """Another dict, or the same dict with other keys, gets a new index; an unchanged one not."""
    listen = {"prev_action": {"action_name": ACTION_LISTEN_NAME}}
    lookup = {_key(listen): "a"}
    first = rule_lookup.lookup_index(lookup)
    assert rule_lookup.lookup_index(lookup) is first
    other = dict(lookup)
    assert rule_lookup.lookup_index(other) is not first
    lookup.pop(_key(listen))
    lookup[_key({"prev_action": {"action_name": "utter_x"}})] = "b"  # same size, other key
    rebuilt = rule_lookup.lookup_index(lookup)
    assert rebuilt is not first
    assert rebuilt.everything == tuple(lookup)
    assert fixed_search(_bare_policy(), lookup, [{"prev_action": {"action_name": "utter_x"}}])


def _bare_policy() -> RulePolicy:
    # The search only uses RulePolicy's static helpers, so no model storage is needed.
    return RulePolicy.__new__(RulePolicy)


_NAMES = st.sampled_from([ACTION_LISTEN_NAME, "utter_a", "form_x", SHOULD_NOT_BE_SET, ""])
_WORDS = st.sampled_from(["greet", "inform", "form_x", SHOULD_NOT_BE_SET, ""]) | st.none()
_FEATURE = st.tuples(st.sampled_from([0.0, 1.0]), st.sampled_from([0.0, 1.0]))


def _sub_states(values: st.SearchStrategy) -> st.SearchStrategy:
    previous = st.one_of(
        st.fixed_dictionaries({"action_name": _NAMES}),
        st.fixed_dictionaries({"action_text": st.sampled_from(["hi", ""])}),
        st.fixed_dictionaries({}, optional={"action_name": _NAMES, "action_text": _WORDS}),
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "prev_action": previous,
            "user": st.fixed_dictionaries(
                {}, optional={"intent": _WORDS, "text": _WORDS, "entities": values}
            ),
            "slots": st.dictionaries(st.sampled_from(["s", "t"]), values, max_size=2),
            "active_loop": st.fixed_dictionaries({}, optional={"name": _WORDS}),
        },
    )


# A conversation's states as Rasa builds them: tuples, not lists.
_CONVERSATION_STATE = _sub_states(_FEATURE | _WORDS | st.just(("service",)))
_ODD = st.sampled_from([1, ["utter_a"], {"a": 1}, "text", [], 0, None])
# A rule's states as json gives them back, and some that Rasa never writes.
_RULE_STATE = _sub_states(st.lists(st.sampled_from([0.0, 1.0]), max_size=2) | _WORDS) | (
    st.dictionaries(st.sampled_from(["prev_action", "user", "slots"]), _ODD, max_size=2)
)


def _outcome(search, lookup: Dict[str, str], states: List[Dict]) -> Any:
    try:
        return search(_bare_policy(), lookup, states)
    except Exception as e:  # Rasa raises on malformed keys: so must the fix, alike
        return f"raised {type(e).__name__}: {e}"


@settings(max_examples=600, deadline=None)
@given(st.data(), st.lists(_CONVERSATION_STATE, max_size=5))
def test_random_rules_are_found_as_rasa_finds_them(data: st.DataObject, states: List) -> None:
    """Random lookups and conversations, with rules cut from the conversation: equal results."""
    suffixes = [states[start:] for start in range(len(states))]
    from_conversation = st.sampled_from(suffixes) if suffixes else st.nothing()
    rules = st.lists(_RULE_STATE, max_size=4) | from_conversation.map(list)
    keys = st.lists(rules.map(lambda rule: json.dumps(rule)), max_size=12)
    keys = keys | st.lists(st.sampled_from(["not json", "{}", "[1]", "[]"]), max_size=2)
    lookup = {key: "action" for key in data.draw(keys) + data.draw(keys)}
    rasa = _outcome(rasa_search, lookup, states)
    fixed = _outcome(fixed_search, lookup, states)
    if isinstance(rasa, set) and isinstance(fixed, set):
        _same(rasa, fixed)
    else:
        assert fixed == rasa
