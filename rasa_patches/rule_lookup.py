"""Finding the applicable rules among those the latest action allows, not among all of them.

Rasa 3.6's `RulePolicy._get_possible_keys` starts every search from all rule keys (~200 here)
and runs `_is_rule_applicable` (json from a cache, a reversed copy, the state comparison) on
each for the latest conversation state, then on the survivors for every older state. It runs
for both lookups, several times per prediction: ~10 % of a turn's CPU (25k calls in 60 turns
under py-spy), ~125 checks and ~125 µs per search. At the latest state a rule can only apply
if its last state's previous action agrees: none with none, a named one with the same name.
So each lookup's keys are indexed once by that (~26 checks, ~30 µs per search). Rasa's own
`_is_rule_applicable` still decides on the remaining keys at every state, and the candidates
keep Rasa's set order, so the same set comes back in the same iteration order (`max` breaks
ties between equally long rules alike); keys the index cannot read are always checked.
Still needed while `_get_possible_keys` starts from `set(lookup.keys())`; if an upgrade changes
`_is_rule_applicable` or `_does_rule_match_state`, re-check `_classify` or drop this module.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Set, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.nlu.constants import ACTION_NAME

_original = RulePolicy._get_possible_keys
# The index mirrors these two; a subclass that overrides either gets Rasa's full search.
_is_rule_applicable = RulePolicy._is_rule_applicable
_does_rule_match_state = RulePolicy._does_rule_match_state

# Groups other than a previous action's name; objects, so that no action name can clash.
_NO_PREVIOUS, _ANY_PREVIOUS, _ALWAYS = object(), object(), object()
_MAX_INDEXES = 8  # two lookups per policy; a few policies (model reloads) at most


class LookupIndex:
    """The keys of one lookup, grouped by what they need of the latest conversation state."""

    __slots__ = ("lookup", "dict_order", "everything", "without_previous", "by_name", "any")

    def __init__(self, lookup: Dict[str, Any]) -> None:
        """Indexes the keys of `lookup`, keeping a reference so that its id stays its own."""
        self.lookup = lookup
        self.dict_order = list(lookup)
        # Rasa's first pass walks `set(lookup.keys())`; every group keeps that order, so the
        # result is built by the same insertions and iterates in the same order: `max` over
        # it breaks ties between equally long rules as Rasa does.
        self.everything = tuple(set(lookup.keys()))
        groups: Dict[object, Set[str]] = {_NO_PREVIOUS: set(), _ANY_PREVIOUS: set(), _ALWAYS: set()}
        for key in self.everything:
            groups.setdefault(_classify(key), set()).add(key)
        always = groups.pop(_ALWAYS)
        without_previous = groups.pop(_NO_PREVIOUS) | always
        any_previous = groups.pop(_ANY_PREVIOUS) | always
        self.without_previous = self._in_order(without_previous)
        self.any = self._in_order(any_previous)
        self.by_name = {name: self._in_order(any_previous | keys) for name, keys in groups.items()}

    def _in_order(self, keys: Set[str]) -> Tuple[str, ...]:
        return tuple(key for key in self.everything if key in keys)

    def candidates(self, latest: Any) -> Tuple[str, ...]:
        """The keys that may apply at the conversation's latest state `latest`, in Rasa's order."""
        if type(latest) is not dict:  # noqa: E721
            return self.everything  # Rasa's states are dicts; anything else: the full search
        previous = latest.get(PREVIOUS_ACTION)
        if not previous:
            return self.without_previous
        # Rasa compares the sub-states in the rule's order and would raise on a non-dict one
        # before it reached a mismatching previous action: keep those keys, and the error.
        for sub_state in latest.values():
            if type(sub_state) is not dict:  # noqa: E721
                return self.everything
        name = previous.get(ACTION_NAME)
        if name is None or type(name) is str:  # noqa: E721 - a str subclass may compare oddly
            return self.by_name.get(name, self.any)
        return self.everything


def _classify(key: str) -> object:
    """The group of a rule key: a previous action's name, or one of the three buckets."""
    try:
        rule_states = json.loads(key)
    except Exception:
        return _ALWAYS  # Rasa raises on it too: let Rasa's own check do so
    if not isinstance(rule_states, list) or not rule_states:
        return _ALWAYS
    last = rule_states[-1]
    if not isinstance(last, dict):
        return _ALWAYS
    previous = last.get(PREVIOUS_ACTION)
    if not previous:
        return _NO_PREVIOUS  # applies at turn 0 exactly when the conversation's is falsy too
    if any(not isinstance(sub_state, dict) for sub_state in last.values()):
        return _ALWAYS  # Rasa may raise on it before comparing the previous action
    name = previous.get(ACTION_NAME)
    if not name or name == SHOULD_NOT_BE_SET:
        return _ANY_PREVIOUS  # only needs some previous action (action_text, or nothing named)
    if type(name) is not str:  # noqa: E721 - lists become tuples in Rasa's comparison
        return _ALWAYS
    return name


_indexes: Dict[int, LookupIndex] = {}


def lookup_index(lookup: Dict[str, Any]) -> LookupIndex:
    """The index of `lookup`, rebuilt when its key set is not the one indexed."""
    # An index holds its lookup, so a cached id cannot be reused by another dict. Training
    # pops contradicting rules from the same dict, so the id is not enough, nor is `len` (a
    # same-size swap): the keys are compared in order (~1 µs, mostly identity checks), since
    # their order decides Rasa's set order too.
    index = _indexes.get(id(lookup))
    if index is None or index.dict_order != list(lookup):
        if len(_indexes) >= _MAX_INDEXES:
            _indexes.clear()
        index = _indexes[id(lookup)] = LookupIndex(lookup)
    return index


def get_possible_keys(
    self: RulePolicy, lookup: Dict[str, str], states: List[Dict[str, Any]]
) -> Set[str]:
    """Rasa's `_get_possible_keys`, starting from the keys the latest state allows."""
    cls = type(self)
    if (
        not states
        or cls._is_rule_applicable is not _is_rule_applicable
        or cls._does_rule_match_state is not _does_rule_match_state
    ):
        return _original(self, lookup, states)
    is_applicable = self._is_rule_applicable
    latest = states[-1]
    possible = {k for k in lookup_index(lookup).candidates(latest) if is_applicable(k, 0, latest)}
    for i, state in enumerate(reversed(states[:-1]), start=1):
        if not possible:
            break  # nothing can come back
        # A new set at every state, as Rasa builds it, keeps Rasa's iteration order.
        possible = {key for key in possible if is_applicable(key, i, state)}
    return possible


def apply() -> None:
    """Replaces the method on Rasa's RulePolicy (again and again: the same one)."""
    RulePolicy._get_possible_keys = get_possible_keys
