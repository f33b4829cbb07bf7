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

from actors.base import LockFuture
from domain.waits import is_idle_wait

log = logging.getLogger(__name__)

FORCED_EXIT_CODE = 1
_OURS = tuple(str(Path(__file__).resolve().parents[1] / pkg) + os.sep
              for pkg in ("actors", "adapters", "domain", "projections", "service"))


PLUMBING = frozenset({LockFuture.get.__code__})  # the caller says more than the wait itself




def _in_pykka(frame: FrameType) -> bool:
    return f"{os.sep}pykka{os.sep}" in frame.f_code.co_filename


def busy(thread: threading.Thread, ours: tuple[str, ...] = _OURS) -> str | None:
    """``name (file:line function)`` at the innermost frame of vipb's own code, or None
    when the thread runs none of our code or waits idle for work: in a function marked
    ``@idle_wait``, or in an actor loop waiting on its inbox (pykka's own frame is then
    the innermost Python frame: the inbox's ``get`` is C). ``ours``: the directories of our
    code."""
    def mine(f: FrameType) -> bool:
        return f.f_code.co_filename.startswith(ours)

    innermost: FrameType | None = sys._current_frames().get(thread.ident or -1)
    frame = innermost
    while frame is not None and not mine(frame) and not _in_pykka(frame):
        frame = frame.f_back
    if frame is None or is_idle_wait(frame.f_code) or (frame is innermost and _in_pykka(frame)):
        return None
    while frame is not None and (not mine(frame) or frame.f_code in PLUMBING):
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
