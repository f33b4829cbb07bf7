"""Round-robin, random and weighted selection."""

from __future__ import annotations

from typing import ClassVar

from domain.selection._indexed import FenwickTree
from domain.selection.context import SelectionContext
from domain.selection.pool import Candidate, Change, NoProxyAvailableError
from domain.selection.strategy import Strategy


class RoundRobin(Strategy):
    """Each available proxy in turn, in the order they were added."""

    name: ClassVar[str] = "round_robin"

    def setup(self) -> None:
        """An empty ring."""
        self._ring: list[str] = []
        self._cursor = 0
        self._dead = 0

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Append new proxies to the ring; removed ones are skipped and compacted lazily."""
        if change is Change.ADDED:
            self._ring.append(candidate.id)
        elif change is Change.REMOVED:
            self._dead += 1
            if self._dead > len(self._ring) // 2:
                self._compact()

    def _compact(self) -> None:
        current = self._ring[self._cursor % len(self._ring)] if self._ring else None
        self._ring = [i for i in self._ring if i in self.pool.by_id]
        self._dead = 0
        self._cursor = self._ring.index(current) if current in self._ring else 0

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """The next available proxy after the previous pick."""
        ring, available = self._ring, self.pool.available
        for _ in range(len(ring)):
            proxy_id = ring[self._cursor % len(ring)]
            self._cursor = (self._cursor + 1) % len(ring)
            if proxy_id in available:
                return proxy_id, "next in turn"
        raise NoProxyAvailableError("no proxy is available")


class RandomChoice(Strategy):
    """A uniformly random available proxy."""

    name: ClassVar[str] = "random"

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Any available proxy, each equally likely."""
        return self.pool.available.choice(self.rng), "random"


class Weighted(Strategy):
    """A random available proxy, with probability proportional to its weight."""

    name: ClassVar[str] = "weighted"

    def setup(self) -> None:
        """An empty tree; slots of removed proxies are reused."""
        self._tree = FenwickTree()
        self._slot: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Keep the Fenwick tree of weights (0 for unavailable) current."""
        if change is Change.ADDED:
            slot = self._free.pop() if self._free else len(self._ids)
            if slot == len(self._ids):
                self._ids.append(candidate.id)
            else:
                self._ids[slot] = candidate.id
            self._slot[candidate.id] = slot
        if change is Change.REMOVED:
            slot = self._slot.pop(candidate.id)
            self._tree.set(slot, 0.0)
            self._ids[slot] = None
            self._free.append(slot)
            return
        weight = float(candidate.weight) if candidate.available else 0.0
        self._tree.set(self._slot[candidate.id], weight)

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Sample by weight in O(log n)."""
        total = self._tree.total
        if total <= 0:
            raise NoProxyAvailableError("no proxy is available")
        slot = self._tree.find(self.rng.random() * total)
        proxy_id = self._ids[slot]
        if proxy_id is None:  # float rounding at the very top of the range
            return self.pool.available.choice(self.rng), "weighted (rounding fallback)"
        return proxy_id, f"weighted ({self.pool.by_id[proxy_id].weight}/{total:g})"
