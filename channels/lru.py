"""A bounded least-recently-used table, for what channels keep in their own process."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, Optional, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    """A dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int) -> None:
        """`size` ≥ 1 entries are kept."""
        self.size = max(1, size)
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> Optional[V]:
        """The value, marking it recently used; None when absent."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value: V) -> None:
        """Stores the value, evicting the oldest entries when full."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        """Forgets `key` if present."""
        self._items.pop(key, None)

    def __len__(self) -> int:
        """Number of entries kept."""
        return len(self._items)
