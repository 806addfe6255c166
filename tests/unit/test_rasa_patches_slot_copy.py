"""rasa_patches.slot_copy: `copy.copy` of a slot, the same result by a shorter way."""

from __future__ import annotations

import copy
from typing import Iterator, List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.slots import Slot

from rasa_patches import slot_copy

DOMAIN = Domain.from_dict(
    {
        "slots": {
            "text": {"type": "text", "initial_value": "a", "mappings": [{"type": "custom"}]},
            "flag": {"type": "bool", "mappings": [{"type": "custom"}]},
            "money": {"type": "float", "max_value": 9.0, "mappings": [{"type": "custom"}]},
            "items": {"type": "list", "mappings": [{"type": "custom"}]},
            "kind": {
                "type": "categorical",
                "values": ["a", "b"],
                "mappings": [{"type": "custom"}],
            },
            "anything": {"type": "any", "mappings": [{"type": "custom"}]},
        }
    }
)


def _slot_classes() -> List[type]:
    found, todo = [], [Slot]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.fixture()
def patched() -> Iterator[None]:
    slot_copy.apply()
    slot_copy.apply()  # idempotent
    yield
    del Slot.__copy__


@pytest.mark.parametrize("cls", _slot_classes(), ids=lambda c: c.__name__)
def test_no_slot_class_customises_copying(cls: type) -> None:
    """The shortcut equals the reduce protocol only for plain classes: any of these breaks it."""
    for name in ("__slots__", "__getstate__", "__setstate__", "__reduce__", "__reduce_ex__"):
        assert name not in cls.__dict__, f"{cls.__name__} defines {name}: re-check slot_copy"


def test_copies_equal_what_copy_copy_gave(patched: None) -> None:
    for slot in DOMAIN.slots:
        slot.value = ["x"] if slot.type_name == "list" else slot.value
        ours = copy.copy(slot)
        del Slot.__copy__
        theirs = copy.copy(slot)
        slot_copy.apply()
        assert type(ours) is type(slot) is type(theirs)
        assert ours is not slot
        assert ours.__dict__ == theirs.__dict__ == slot.__dict__
        # Shallow, as copy.copy: the values are shared, the attributes are not.
        assert all(ours.__dict__[k] is slot.__dict__[k] for k in slot.__dict__)
        assert ours.__dict__ is not slot.__dict__


def test_trackers_get_their_own_slots(patched: None) -> None:
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    first = DialogueStateTracker("a", DOMAIN.slots)
    second = DialogueStateTracker("b", DOMAIN.slots)
    first.update(SlotSet("text", "changed"))
    assert first.get_slot("text") == "changed"
    assert second.get_slot("text") == "a"
    assert [s.value for s in DOMAIN.slots if s.name == "text"] == ["a"]
