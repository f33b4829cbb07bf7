"""`vipb host run` as a real process for tests, never left behind.

Every host a test starts is registered; ``kill_leftover_hosts`` (an autouse fixture in
``tests/conftest.py``) SIGKILLs whatever is still running after each test, also when the test
failed or timed out, and at interpreter exit. Start and stop wait with deadlines: a host that
never says it started, or ignores SIGTERM, is killed and the test fails with its log.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import resource
import signal
import subprocess
import threading
from pathlib import Path

from adapters.config import DataPaths
from scripts.fixtures.servers import LineLog
from tests.helpers import ENTRY

START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0

_LIVE: set[RunningHost] = set()
_LIVE_LOCK = threading.Lock()


class RunningHost:
    """A `vipb host run` process; started when its log says so (no polling)."""

    def __init__(self, data_dir: Path, *args: str, nofile: tuple[int, int] | None = None,
                 **extra_env: str) -> None:
        """``nofile``: (soft, hard) limit on open files for the host, e.g. systemd's 1024."""
        env = {**os.environ, "VIPB_DATA_DIR": str(data_dir), "VIPB_KEYRING": "off",
               "PYTHONUNBUFFERED": "1", **extra_env}
        limit = None if nofile is None else functools.partial(
            resource.setrlimit, resource.RLIMIT_NOFILE, nofile)
        self.process = subprocess.Popen([*ENTRY, "host", "run", *args],
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True, env=env, start_new_session=True,
                                        preexec_fn=limit)
        with _LIVE_LOCK:
            _LIVE.add(self)
        self.log = LineLog()
        threading.Thread(target=self._drain, daemon=True).start()
        started = self.log.wait_for(
            lambda lines: any('"host started' in x for x in lines) or self.process.poll()
            is not None, START_TIMEOUT)
        if not started or self.process.poll() is not None:
            self.kill()
            raise AssertionError(f"host did not start: {''.join(self.log.lines)}")
        self.socket = DataPaths(data_dir).socket

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
        self.log.append("")  # EOF: wake waiters that also watch for the exit

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` and wait for the exit code; a host that does not stop in time is
        killed and the test fails."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"host ignored signal {sig} for {timeout}s: "
                                 f"{''.join(self.log.lines[-30:])}") from None
        self._forget()
        return code

    def kill(self) -> None:
        """SIGKILL the host and anything it started in its session (Chromium, relays)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._forget()

    def _forget(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)


def kill_leftover_hosts() -> list[int]:
    """Kill every host a test started and did not stop; return their pids."""
    with _LIVE_LOCK:
        left = list(_LIVE)
    pids = []
    for host in left:
        if host.process.poll() is None:
            pids.append(host.process.pid)
        host.kill()
    return pids


atexit.register(kill_leftover_hosts)
