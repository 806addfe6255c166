"""Copying a slot the way `copy.copy` does, without its generic reduce protocol.

Every `DialogueStateTracker` Rasa 3.6 creates copies each of the domain's slots with
`copy.copy` (`{slot.name: copy.copy(slot) for slot in slots}`), and a turn creates many: the
tracker read from the store, and one per prior state each time a policy's states are worked
out. `copy.copy` on a slot goes through `__reduce_ex__(4)`, `copyreg.__newobj__` and
`copy._reconstruct`: ~6 % of a turn's CPU here. For a class without `__slots__`,
`__getstate__`, `__setstate__` or `__reduce__` (Rasa's slots have none; the test checks every
slot class) that protocol amounts to a new instance whose `__dict__` is updated from the
original's, which `Slot.__copy__` now does directly. Still useful while `Slot` has no
`__copy__` of its own; drop this module if it gets one.
"""

from __future__ import annotations

from typing import TypeVar

from rasa.shared.core.slots import Slot

_S = TypeVar("_S", bound=Slot)


def copy_slot(slot: _S) -> _S:
    """What `copy.copy(slot)` gives: a new instance sharing the attribute values."""
    new = type(slot).__new__(type(slot))
    new.__dict__.update(slot.__dict__)
    return new


def apply() -> None:
    """Gives Rasa's `Slot` this `__copy__` (idempotent; a `__copy__` of Rasa's own is kept)."""
    if "__copy__" not in Slot.__dict__:
        Slot.__copy__ = copy_slot  # type: ignore[attr-defined]
