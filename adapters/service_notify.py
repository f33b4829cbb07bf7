"""Tell systemd how the host is doing (``Type=notify`` units): ready once the control socket
listens, stopping when shutdown begins, and watchdog pings while the host answers.

The protocol (datagrams to ``$NOTIFY_SOCKET``) is sdnotify's; without systemd (no
``NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

import sdnotify

log = logging.getLogger(__name__)


class ServiceNotifier:
    """sd_notify messages for this process, and its watchdog pings."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._notifier = sdnotify.SystemdNotifier() if env.get("NOTIFY_SOCKET") else None
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        mine = not pid or (pid.isdigit() and int(pid) == os.getpid())
        # ping twice per period, as sd_watchdog_enabled(3) advises
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and mine else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self, status: str) -> None:
        """The service is up (systemd starts its dependents now)."""
        self._send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def stopping(self, status: str) -> None:
        """Shutdown has begun (``stop`` ends the pings)."""
        self._send(f"STOPPING=1\nSTATUS={status}")

    def start_watchdog(self, alive: Callable[[], bool]) -> None:
        """Ping the watchdog each interval while ``alive()`` says so (a hung host stops
        pinging and systemd restarts it)."""
        interval = self.watchdog_interval
        if interval is None or self._notifier is None or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    ok = alive()
                except Exception:
                    log.exception("watchdog check failed")
                    ok = False
                if ok:
                    self._send("WATCHDOG=1")
                else:
                    log.warning("the host did not answer its watchdog check: no ping")

        self._thread = threading.Thread(target=loop, name="vipb-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more pings."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
            self._thread = None
