"""``AuditSealer``: seals new events into the audit chain in the background, soon after each
commit (a host does this; an in-process runtime seals once, when it closes)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from actors.audit_keeper import AuditKeeper
from domain.waits import idle_wait

log = logging.getLogger(__name__)


LINGER = 0.25  # seconds commits may gather before a seal


class AuditSealer:
    """A thread that seals after commits (woken by ``committed``, then ``LINGER`` seconds
    for more to gather; at least once a second),
    only while ``when()`` says so (on a shared store, only the projecting host seals), and
    logs a checkpoint every ``checkpoint_interval`` seconds."""

    def __init__(self, auditor: AuditKeeper, checkpoint_interval: float,
                 when: Callable[[], bool] | None = None) -> None:
        self._auditor = auditor
        self._interval = checkpoint_interval
        self._when = when or (lambda: True)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vipb-audit", daemon=True)

    def start(self) -> None:
        """Put the chain in force on record now (never from the sealing thread, so commits
        stay where commands put them), then seal in the background."""
        self._auditor.ensure_recorded()
        self._thread.start()

    def committed(self, _last: int) -> None:
        """A commit listener: seal soon."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread (a seal in progress finishes first); the closing runtime seals
        what is left and logs the last checkpoint."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(30)

    @idle_wait
    def _loop(self) -> None:
        while not self._stopping.is_set():
            if self._wake.wait(1.0) and not self._stopping.is_set():
                # let the commits of a busy moment gather: one seal covers them all (a seal
                # reads the chain's state first, which costs as much as sealing a few
                # hundred events); a stop cuts the wait short
                self._stopping.wait(LINGER)
            self._wake.clear()
            if self._stopping.is_set() or not self._when():
                continue  # e.g. on a shared store, the projecting host seals
            try:
                self._auditor.seal()
                self._auditor.log_checkpoint(self._interval)
            except Exception:
                log.exception("sealing the audit chain failed; will retry")
