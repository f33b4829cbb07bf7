"""Log hygiene for a process that runs for months: repeated lines are rate-limited.

A fault that repeats in a tight loop (asyncio logs every failed ``accept()`` when the process
is out of file descriptors) once wrote 390 MB of identical lines in 80 seconds. The filter
lets the first few records of each kind through per period and counts the rest; the next
record of that kind that passes says how many were suppressed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

BURST = 5  # records of one kind let through per period
PERIOD = 60.0  # seconds
MAX_KINDS = 1024  # kinds remembered (least recently seen forgotten first)


@dataclass
class _Window:
    started: float
    passed: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Let at most ``burst`` records of one kind (logger, level, message template) through
    per ``period`` seconds; the first record after a suppression reports the count."""

    def __init__(self, burst: int = BURST, period: float = PERIOD,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._burst = burst
        self._period = period
        self._clock = clock
        self._windows: OrderedDict[tuple[str, int, str], _Window] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass or suppress ``record`` (handlers call this from any thread; the GIL keeps
        the counters consistent enough for a rate limit)."""
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self._period:
            suppressed = window.suppressed if window is not None else 0
            window = _Window(started=now)
            self._windows[key] = window
            if suppressed:
                record.msg = f"{record.getMessage()} [{suppressed} similar lines suppressed " \
                             f"in the last {self._period:.0f}s]"
                record.args = ()
        self._windows.move_to_end(key)
        while len(self._windows) > MAX_KINDS:
            self._windows.popitem(last=False)
        if window.passed >= self._burst:
            window.suppressed += 1
            return False
        window.passed += 1
        return True
