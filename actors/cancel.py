"""``CancelToken``: how a running task is asked to end (stop by request, host stopping, its
claim taken over), and how waits and page loads end at once when it is."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)


class CancelToken:
    """Set by stop-search (``stopped``) or shutdown (``interrupted``); waits end at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []
        self.reason = ""
        self.interrupted = False

    def cancel(self, reason: str, interrupted: bool = False) -> None:
        """Ask the task to end (``interrupted``: it stays pending for the next host); what
        is waiting on the network is aborted (``on_cancel``)."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason, self.interrupted = reason, interrupted
            self._event.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.debug("a cancel callback failed", exc_info=True)

    @contextlib.contextmanager
    def aborting(self, callback: Callable[[], None]) -> Iterator[None]:
        """Run ``callback`` if the token is cancelled while the block runs (at once if it
        already is): a page load behind a silent proxy ends when the search is stopped."""
        with self._lock:
            fire = self._event.is_set()
            if not fire:
                self._on_cancel.append(callback)
        if fire:
            callback()
        try:
            yield
        finally:
            with self._lock:
                if callback in self._on_cancel:
                    self._on_cancel.remove(callback)

    @property
    def is_set(self) -> bool:
        """True once cancelled."""
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` or until cancelled."""
        self._event.wait(seconds)
