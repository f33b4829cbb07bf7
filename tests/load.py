"""Artificial CPU load for concurrency tests: CI runs on a busy 2-core machine, and races
that hide on an idle one show up when other processes compete for the cores."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator

SPIN = "while True: pass"


@contextlib.contextmanager
def cpu_load(processes: int = 2) -> Iterator[None]:
    """Run ``processes`` busy-looping Python processes for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in spinners:
            proc.kill()
        for proc in spinners:
            proc.wait(10)


def thread_stacks() -> str:
    """Every live thread's name and stack: what a failed 'must finish' assertion shows."""
    frames = sys._current_frames()
    parts = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if frame is not None:
            parts.append(f"--- {thread.name}\n" + "".join(traceback.format_stack(frame)))
    return "\n".join(parts)
