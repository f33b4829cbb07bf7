"""A bounded shutdown: if the host has not stopped ``timeout`` seconds after SIGTERM, log
what it was doing and which threads were busy, then end the process.

Ending the process loses nothing acknowledged (an acknowledgement means committed) and the
next start catches up, resumes tabs and pending searches, exactly as after a SIGKILL; what
it avoids is a service manager waiting forever on a worker stuck in a network call.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

FORCED_EXIT_CODE = 1
_OURS = tuple(str(Path(__file__).resolve().parents[1] / pkg) + os.sep
              for pkg in ("actors", "adapters", "domain", "projections"))


# Where a thread of ours waits for work when it has none: not worth naming in the log.
IDLE = frozenset({"Actor._actor_loop_running", "ClosableInbox.get", "GroupCommitter._loop",
                  "ProjectionRunner._loop", "Runtime._seal_loop", "Ticker._loop", "Every._loop",
                  "RankTrackerActor._scan_loop", "CreatorRunner._scan_loop",
                  "ClaimHolder.start_renewing.<locals>.renew"})
PLUMBING = frozenset({"LockFuture.get"})  # the caller says more than the wait itself


def _ours(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(_OURS)


def busy(thread: threading.Thread) -> str | None:
    """``name (file:line function)`` at the innermost frame of vipb's own code, or None
    when the thread runs none of our code or waits idle for work."""
    frame: FrameType | None = sys._current_frames().get(thread.ident or -1)
    while frame is not None and not _ours(frame) and "pykka" not in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is None or frame.f_code.co_qualname in IDLE:
        return None
    while frame is not None and (not _ours(frame) or frame.f_code.co_qualname in PLUMBING):
        frame = frame.f_back
    if frame is None:
        return None
    root = str(Path(__file__).resolve().parents[1]) + os.sep
    return (f"{thread.name} ({frame.f_code.co_filename.removeprefix(root)}:{frame.f_lineno} "
            f"{frame.f_code.co_qualname})")


def busy_threads() -> list[str]:
    """Every other thread that is inside vipb's code and not idle."""
    me = threading.current_thread()
    return [b for t in threading.enumerate()
            if t is not me and t is not threading.main_thread() and (b := busy(t))]


class ShutdownWatchdog:
    """Ends the process if ``finished`` is not called within ``timeout`` seconds."""

    def __init__(self, timeout: float, step: Callable[[], str] | None = None) -> None:
        self._timeout = timeout
        self._step = step
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vipb-shutdown-watchdog",
                                        daemon=True)

    def start(self) -> None:
        """Start counting."""
        self._thread.start()

    def finished(self) -> None:
        """The shutdown completed in time."""
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(self._timeout):
            return
        step = self._step() if self._step is not None else "?"
        log.error("shutdown did not finish within %.0fs (stuck while %s); exiting anyway, "
                  "nothing acknowledged is lost. Busy threads: %s", self._timeout, step,
                  "; ".join(busy_threads()) or "none in vipb code")
        main = sys._current_frames().get(threading.main_thread().ident or -1)
        if main is not None:
            log.error("main thread:\n%s", "".join(traceback.format_stack(main)))
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(FORCED_EXIT_CODE)
