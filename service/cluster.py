"""This host as one of several on a PostgreSQL store.

Every ``HEARTBEAT`` seconds it tells the hosts table it is alive (and how many searches and
creator checks it runs), and it asks for the projector's lock: the one host holding it
projects the read models and seals the audit chain; the others follow the positions it
commits (so their reads still wait for their own writes). A killed projector's session ends,
its lock with it, and the next heartbeat of another host takes over from the tracking
positions (each batch moves them by compare-and-set in the batch's own transaction: nothing
is applied twice or skipped).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from adapters.cluster import HostRegistry, LeaderLock

log = logging.getLogger(__name__)

HEARTBEAT = 2.0  # seconds between heartbeats (and tries for the projector's lock)
SILENT_AFTER = 3 * HEARTBEAT  # a host not heard of for this long is shown as silent
PROJECTOR = "projector"


class ClusterMember:
    """Heartbeats and the projector's lock, on a thread of their own."""

    def __init__(self, registry: HostRegistry, lock: LeaderLock,
                 lead: Callable[[bool], None],
                 activity: Callable[[], dict[str, int] | None],
                 hosts_up: Callable[[int], None] = lambda _n: None) -> None:
        """``registry``: where hosts say they are alive; ``lock``: the projector's lock
        (both from the shared store); ``lead(True/False)``: start or stop projecting;
        ``activity()``: running and queued searches and creator checks (None when the
        tracker does not answer);
        ``hosts_up(n)``: how many hosts are up, after each heartbeat."""
        self._hosts_up = hosts_up
        self.host_id = registry.host_id
        self._registry = registry
        self._lock = lock
        self._lead = lead
        self._activity = activity
        self._leading = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vipb-cluster", daemon=True)

    @property
    def leading(self) -> bool:
        """Whether this host projects now."""
        return self._leading

    def start(self) -> None:
        """Join, take the projector's lock if free (at once), then beat in the background."""
        self._registry.create()
        self._registry.join(version("virtual-ip-browser"))
        self._turn()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                self._turn()
            except Exception:
                log.exception("cluster heartbeat failed; will retry")

    def _turn(self) -> None:
        leading = self._lock.check() if self._lock.held else self._lock.try_acquire()
        changed = leading != self._leading
        if changed:
            self._leading = leading
            self._lead(leading)
        counts = self._activity() or {}
        self._registry.beat(leading, counts.get("running", 0), counts.get("queued", 0),
                            counts.get("checks", 0))
        up = sum(1 for h in self._registry.hosts()
                 if h.stopped_at is None and h.silent_for <= SILENT_AFTER)
        self._hosts_up(max(1, up))
        if changed:  # logged once the hosts table says so too
            log.info("host %s %s the read models", self.host_id,
                     "now projects" if leading else "no longer projects")

    def status(self) -> dict[str, Any]:
        """The cluster as `vipb status` shows it: hosts and who projects. This host's work
        is counted now (its row is up to a heartbeat old: searches that ended since would
        still show as running); the others' as their last heartbeat said."""
        hosts = [h.as_dict(SILENT_AFTER) for h in self._registry.hosts()]
        counts = self._activity()
        for host in hosts:
            if host["host_id"] == self.host_id and host["state"] == "up" and counts is not None:
                host.update(searches_running=counts.get("running", 0),
                            searches_queued=counts.get("queued", 0),
                            creator_checks=counts.get("checks", 0))
        projector = next((h["host_id"] for h in hosts if h["projects"] and h["state"] == "up"),
                         None)
        return {"host_id": self.host_id, "projector": projector, "hosts": hosts}

    def close(self) -> None:
        """Stop beating, give up the lock, leave."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self._leading:
            self._leading = False
            self._lead(False)
        self._lock.release()
        self._registry.leave()
        self._registry.close()
