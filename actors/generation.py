"""``Generation``: a counter an actor bumps whenever state that other actors cache changes,
read by them without a message; ``Cached``: answers kept while one stays."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Generation:
    """Thread-safe; ``value`` is read without a lock (an int read is atomic)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    @property
    def value(self) -> int:
        """The current generation."""
        return self._value

    def bump(self) -> None:
        """The state changed: entries cached before are stale."""
        with self._lock:
            self._value += 1


class Cached(Generic[K, V]):
    """Answers kept while a ``Generation`` stays where it was when each was made (at most
    ``limit``; all are dropped when full). Thread-safe: ``make`` runs outside the lock (two
    threads missing at once both make the answer; either is kept)."""

    def __init__(self, generation: Generation, limit: int) -> None:
        self._generation = generation
        self._limit = limit
        self._entries: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """``key``'s answer: kept, or ``make()`` (its generation read before it runs, so a
        change made meanwhile is never taken for one seen)."""
        now = self._generation.value
        kept = self._entries.get(key)
        if kept is not None and kept[0] == now:
            return kept[1]
        value = make()
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value
