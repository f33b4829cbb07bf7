"""Strategies that rank proxies: least used, fastest, failure-aware (lazy heaps, O(log n))."""

from __future__ import annotations

import heapq
from abc import abstractmethod
from typing import Any, ClassVar

from domain.selection.context import SelectionContext
from domain.selection.pool import Candidate, CandidatePool, Change, NoProxyAvailableError
from domain.selection.strategy import Strategy

Key = tuple[Any, ...]


class Ranked(Strategy):
    """Pick the available proxy with the smallest ``key``.

    Every change pushes a fresh heap entry; stale entries (an older version of a proxy's key)
    are dropped when they surface, and unavailable proxies are dropped until a change makes
    them available again (which pushes them back).
    """

    def setup(self) -> None:
        """An empty heap."""
        self._heap: list[tuple[Key, int, str]] = []
        self._version: dict[str, int] = {}
        self._pushed: dict[str, Key] = {}  # the key of each proxy's live heap entry

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Push the candidate's current key."""
        if change is Change.REMOVED:
            self._version.pop(candidate.id, None)
            self._pushed.pop(candidate.id, None)
            return
        key = self.key(candidate)
        if change is Change.METRICS and self._pushed.get(candidate.id) == key:
            return  # its live entry is still right: no push, no stale entry
        version = self._version.get(candidate.id, 0) + 1
        self._version[candidate.id] = version
        if candidate.available:
            heapq.heappush(self._heap, (key, version, candidate.id))
            self._pushed[candidate.id] = key
        else:
            self._pushed.pop(candidate.id, None)
        if len(self._heap) > 4 * len(self.pool) + 64:
            self._rebuild()

    def _rebuild(self) -> None:
        self._heap = [
            (self.key(c), self._version[c.id], c.id)
            for c in self.pool.by_id.values() if c.available
        ]
        self._pushed = {proxy_id: key for key, _, proxy_id in self._heap}
        heapq.heapify(self._heap)

    @abstractmethod
    def key(self, candidate: Candidate) -> Key:
        """Smaller is better."""

    @abstractmethod
    def reason(self, candidate: Candidate) -> str:
        """Why this one won."""

    def best(self) -> Candidate:
        """The best available candidate (its heap entry stays until its key changes)."""
        heap = self._heap
        while heap:
            _, version, proxy_id = heap[0]
            if self._version.get(proxy_id) == version and proxy_id in self.pool.available:
                return self.pool.by_id[proxy_id]
            heapq.heappop(heap)
        raise NoProxyAvailableError("no proxy is available")

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """The best available proxy."""
        best = self.best()
        return best.id, self.reason(best)


class LeastUsed(Ranked):
    """The proxy with the fewest uses so far (ties: the one added first)."""

    name: ClassVar[str] = "least_used"

    def key(self, candidate: Candidate) -> Key:
        """Uses, then insertion order."""
        return (candidate.uses, candidate.seq)

    def reason(self, candidate: Candidate) -> str:
        """Name the count."""
        return f"least used ({candidate.uses} uses)"


class Fastest(Ranked):
    """Lowest measured latency; a never-measured proxy is tried first, then ranked last
    while its latency stays unknown."""

    name: ClassVar[str] = "fastest"

    def key(self, candidate: Candidate) -> Key:
        """Untried unknowns, then by latency, then tried unknowns."""
        if candidate.latency_ms is None:
            return (0 if candidate.uses == 0 else 2, 0.0, candidate.seq)
        return (1, candidate.latency_ms, candidate.seq)

    def reason(self, candidate: Candidate) -> str:
        """Latency or why it is tried."""
        if candidate.latency_ms is None:
            return ("latency unknown: trying it" if candidate.uses == 0
                    else "latency still unknown: ranked last")
        return f"fastest ({candidate.latency_ms:.0f} ms)"


class FailureAware(Ranked):
    """Highest recent success rate (exponentially weighted); proxies under
    ``min_success_rate`` are used only when nothing better is available."""

    name: ClassVar[str] = "failure_aware"

    def __init__(self, pool: CandidatePool, rng: Any = None,
                 min_success_rate: float = 0.5) -> None:
        self.min_success_rate = min_success_rate
        super().__init__(pool, rng)

    def key(self, candidate: Candidate) -> Key:
        """Best score first; among equals the least used."""
        return (-round(candidate.success_score, 6), candidate.uses, candidate.seq)

    def reason(self, candidate: Candidate) -> str:
        """Score, and a warning when even the best is below the bar."""
        rate = f"success rate {candidate.success_score:.0%}"
        if candidate.success_score < self.min_success_rate:
            return f"{rate}: every available proxy is below {self.min_success_rate:.0%}"
        return rate
