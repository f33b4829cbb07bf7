"""Several hosts on one PostgreSQL store: who is there, and who does the one-at-a-time jobs.

``HostRegistry`` keeps one row per host in the cluster schema (heartbeats are telemetry, not
events: they are written in place, by the database's clock, so hosts' clocks never compare).
``LeaderLock`` is a PostgreSQL session advisory lock on a connection of its own: the holder
projects the read models (and seals the audit chain); when its process dies, the server ends
the session and the lock goes with it, and another host's next try takes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.sql import VIPB_LOCK_KEY, PgLocation

if TYPE_CHECKING:  # loaded with the first connection (``PgLocation``), never on SQLite
    import psycopg

log = logging.getLogger(__name__)


_HOSTS = """
CREATE TABLE IF NOT EXISTS hosts (
    host_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    stopped_at TIMESTAMPTZ,
    leader BOOLEAN NOT NULL DEFAULT false,
    running INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    checks INTEGER NOT NULL DEFAULT 0
)"""
_CHECKS = "ALTER TABLE hosts ADD COLUMN IF NOT EXISTS checks INTEGER NOT NULL DEFAULT 0"


@dataclass(frozen=True)
class HostRow:
    """One host as the registry last heard of it."""

    host_id: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    leader: bool
    running: int
    queued: int
    checks: int  # creator checks queued or running there
    silent_for: float  # seconds since its last heartbeat, by the database's clock

    def as_dict(self, stale_after: float) -> dict[str, Any]:
        """For `vipb status` (``state``: up, silent or stopped). A host that is not up runs
        nothing, whatever it last said: its work is taken over when its leases run out."""
        state = ("stopped" if self.stopped_at is not None
                 else "silent" if self.silent_for > stale_after else "up")
        up = state == "up"
        return {"host_id": self.host_id, "state": state, "pid": self.pid,
                "version": self.version, "started_at": self.started_at.isoformat(),
                "heartbeat_age": round(self.silent_for, 1), "projects": self.leader and up,
                "searches_running": self.running if up else 0,
                "searches_queued": self.queued if up else 0,
                "creator_checks": self.checks if up else 0}


class HostRegistry:
    """The hosts table: join, heartbeat, leave, list."""

    def __init__(self, location: PgLocation, host_id: str) -> None:
        self._location = location
        self.host_id = host_id
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _db(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._location.connect_raw("cluster")
        return self._conn

    def create(self) -> None:
        """Create the table if missing (hosts starting at once take turns)."""
        with self._lock, self._db().transaction():
            conn = self._db()
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext('hosts-table'))",
                         (VIPB_LOCK_KEY,))
            conn.execute(_HOSTS)
            conn.execute(_CHECKS)  # (a table made before creator checks were claimed)

    def join(self, version: str) -> None:
        """This host is up (a host id seen before is taken over: same machine, new run)."""
        with self._lock:
            self._db().execute(
                "INSERT INTO hosts (host_id, pid, version, started_at, heartbeat_at) "
                "VALUES (%s, %s, %s, now(), now()) ON CONFLICT (host_id) DO UPDATE SET "
                "pid=excluded.pid, version=excluded.version, started_at=now(), "
                "heartbeat_at=now(), stopped_at=NULL, leader=false, running=0, queued=0, "
                "checks=0",
                (self.host_id, os.getpid(), version))

    def beat(self, leader: bool, running: int, queued: int, checks: int = 0) -> None:
        """A heartbeat with what this host does now. The projector's lock is held by one
        session at a time: its holder clears what a killed predecessor's row still says."""
        with self._lock:
            if leader:
                self._db().execute("UPDATE hosts SET leader=false WHERE leader AND "
                                   "host_id <> %s", (self.host_id,))
            self._db().execute(
                "UPDATE hosts SET heartbeat_at=now(), leader=(%s <> 0), running=%s, "
                "queued=%s, checks=%s WHERE host_id=%s",  # bools go out as 0/1 here
                (leader, running, queued, checks, self.host_id))

    def leave(self) -> None:
        """This host stops (a clean exit; a killed host just falls silent)."""
        import psycopg

        with self._lock, contextlib.suppress(psycopg.Error):
            self._db().execute("UPDATE hosts SET stopped_at=now(), leader=false, running=0, "
                               "queued=0, checks=0 WHERE host_id=%s", (self.host_id,))

    def hosts(self) -> list[HostRow]:
        """Every host that ever joined, by id."""
        with self._lock:
            rows = self._db().execute(
                "SELECT host_id, pid, version, started_at, heartbeat_at, stopped_at, leader, "
                "running, queued, checks, extract(epoch FROM now() - heartbeat_at) "
                "FROM hosts ORDER BY host_id").fetchall()
        return [HostRow(host_id=r[0], pid=r[1], version=r[2], started_at=r[3],
                        heartbeat_at=r[4], stopped_at=r[5], leader=r[6], running=r[7],
                        queued=r[8], checks=r[9], silent_for=float(r[10])) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class LeaderLock:
    """One named job that one host at a time does (``pg_try_advisory_lock``)."""

    def __init__(self, location: PgLocation, name: str) -> None:
        self._location = location
        self.name = name
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (as far as it knows: see ``check``)."""
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if free; True if this process holds it now."""
        if self._conn is not None:
            return True
        try:
            conn = self._location.connect_raw()
        except Exception as exc:
            log.warning("cannot reach the store to ask for %s: %s", self.name, exc)
            return False
        got = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                           (VIPB_LOCK_KEY, self.name)).fetchone()
        if got is not None and got[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def check(self) -> bool:
        """Whether the lock is still ours: its session must still answer (a lost
        connection means the server released it)."""
        import psycopg

        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            log.error("lost the connection holding %s: another host may take it over",
                      self.name)
            self._drop()
            return False

    def release(self) -> None:
        """Give the lock up (closing its session releases it)."""
        self._drop()

    def _drop(self) -> None:
        import psycopg

        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
