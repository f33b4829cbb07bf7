"""Small containers that keep selection O(1) or O(log n)."""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class IndexedSet(Generic[T]):
    """A set with O(1) add, remove and uniform random choice (swap-remove list + index)."""

    __slots__ = ("_items", "_pos")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._pos: dict[T, int] = {}

    def add(self, item: T) -> None:
        """Add ``item`` (no-op if present)."""
        if item not in self._pos:
            self._pos[item] = len(self._items)
            self._items.append(item)

    def discard(self, item: T) -> None:
        """Remove ``item`` if present."""
        index = self._pos.pop(item, None)
        if index is None:
            return
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
            self._pos[last] = index

    def choice(self, rng: random.Random) -> T:
        """A uniformly random member; raises IndexError when empty."""
        return self._items[int(rng.random() * len(self._items))]

    def __contains__(self, item: object) -> bool:
        return item in self._pos

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items))


class FenwickTree:
    """Prefix sums over non-negative weights with O(log n) update and weighted search."""

    __slots__ = ("_size", "_tree", "_values")

    def __init__(self, capacity: int = 16) -> None:
        self._size = 1
        while self._size < capacity:
            self._size *= 2
        self._tree = [0.0] * (self._size + 1)
        self._values = [0.0] * self._size

    def _grow(self, index: int) -> None:
        values = self._values
        while self._size <= index:
            self._size *= 2
        self._tree = [0.0] * (self._size + 1)
        self._values = [0.0] * self._size
        for i, value in enumerate(values):
            if value:
                self.set(i, value)

    def set(self, index: int, value: float) -> None:
        """Set the weight at ``index``."""
        if index >= self._size:
            self._grow(index)
        delta = value - self._values[index]
        if not delta:
            return
        self._values[index] = value
        i = index + 1
        while i <= self._size:
            self._tree[i] += delta
            i += i & -i

    @property
    def total(self) -> float:
        """Sum of all weights."""
        return self._tree[self._size]

    def find(self, target: float) -> int:
        """The index whose cumulative range holds ``target`` (0 <= target < total)."""
        pos, step = 0, self._size
        while step:
            nxt = pos + step
            if nxt <= self._size and self._tree[nxt] <= target:
                target -= self._tree[nxt]
                pos = nxt
            step //= 2
        return min(pos, self._size - 1)
