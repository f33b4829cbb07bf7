"""``Stop``: how a request running in one thread is ended from another (a search stopped,
the host stopping). Apart from the transfer itself so that its users need not load curl."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Stop:
    """Ends the request it is given to (``ChromeSession.fetch``), from any thread, once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._wake: Callable[[], object] | None = None

    @property
    def is_set(self) -> bool:
        """Whether the request was asked to end."""
        return self._set

    def set(self) -> None:
        """End the request now (or before it starts)."""
        with self._lock:  # a transfer detaches under this lock: no wake after its end
            self._set = True
            if self._wake is not None:
                self._wake()

    def attach(self, wake: Callable[[], object]) -> bool:
        """A transfer starts: ``wake`` ends it (False: stopped already, do not start)."""
        with self._lock:
            if self._set:
                return False
            self._wake = wake
            return True

    def detach(self) -> None:
        """The transfer ended: nothing to wake any more."""
        with self._lock:
            self._wake = None
