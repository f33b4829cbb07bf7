"""``Generation``: a counter an actor bumps whenever state that other actors cache changes,
read by them without a message (a cache entry made at one generation holds until the next)."""

from __future__ import annotations

import threading


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
