"""``Every``: a daemon thread that tells an actor to do its upkeep at an interval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pykka

from domain.waits import idle_wait

log = logging.getLogger(__name__)


class Every:
    """Calls ``action`` (which should only *tell* an actor, never wait on it) each time
    ``interval()`` seconds have passed, until ``stop`` or until the actor is gone.
    ``interval`` is asked before each wait (and again at ``wake``, when the actor changed
    it); ``None`` means nothing to do for now (asked again after ``idle`` seconds)."""

    def __init__(self, interval: Callable[[], float | None], action: Callable[[], None],
                 name: str, idle: float = 60.0) -> None:
        self._interval = interval
        self._action = action
        self._idle = idle
        self._stopped = False
        self._woken = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread (the first action comes after the first interval)."""
        self._thread.start()

    def wake(self) -> None:
        """Ask ``interval`` again now and wait that long from here."""
        self._woken.set()

    def stop(self) -> None:
        """End the thread now (if it is waiting) or after the action it is running."""
        self._stopped = True
        self._woken.set()

    @idle_wait
    def _loop(self) -> None:
        while not self._stopped:
            seconds = self._interval()
            woken = self._woken.wait(self._idle if seconds is None else seconds)
            self._woken.clear()
            if woken or seconds is None:
                continue  # stopped, or the interval changed: ask again
            try:
                self._action()
            except pykka.ActorDeadError:
                return
            except Exception:
                log.exception("periodic upkeep failed; will try again")
