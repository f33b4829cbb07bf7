"""Claims on a store several hosts share: how a host holds a task (a search or a creator
check) while it runs it.

A host claims a task by appending its ``...Claimed`` event at the version it loaded (of two
hosts claiming at once one gets a version conflict and moves on), renews the lease while it
runs the task (every third of the lease), and releases it when it stops first. A host that
dies stops renewing; once the lease has run out another host claims the task. Any write that
finds the task changed by another host means the claim was taken over: the holder stops
recording (``ClaimLost``), the other host records the outcome.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from actors.writer import COMMIT_TIMEOUT, EventWriter
from adapters.store import Pending
from domain.creator import CreatorCheckTask
from domain.errors import ConcurrencyError
from domain.rank import SearchTask
from domain.waits import idle_wait

log = logging.getLogger(__name__)

SCAN_INTERVAL = 2.0  # seconds between looks for claimable work on a shared store

Task = TypeVar("Task", SearchTask, CreatorCheckTask)  # the aggregates claimed this way


@dataclass(frozen=True)
class Claims:
    """How this host claims tasks of one kind on a shared store."""

    host_id: str
    lease: float  # seconds a claim holds without renewal
    candidates: Callable[[str, datetime, int], list[str]]  # (host, now, limit) -> task ids
    pending: Callable[[str], int] = lambda _origin: 0  # a search origin's unfinished tasks
    clock: Callable[[], float] = time.time

    def now(self) -> datetime:
        """The time leases are measured by."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def holding(self) -> Lease:
        """The lease a task claimed by this host is renewed with."""
        return Lease(self.host_id, self.lease, self.clock)


@dataclass(frozen=True)
class Lease:
    """The claim this host holds on a task: renewed every ``seconds / 3``."""

    host_id: str
    seconds: float
    clock: Callable[[], float]

    def until(self) -> datetime:
        """A lease from now."""
        return datetime.fromtimestamp(self.clock(), UTC) + timedelta(seconds=self.seconds)


def claim(writer: EventWriter, cls: type[Task], task_id: UUID, claims: Claims,
          what: str) -> Task | None:
    """The task, freshly loaded and claimed by this host; None when another host holds it
    (or took it first just now) or it is finished. ``what`` names it in the log."""
    task = writer.load(cls, task_id)
    now = claims.now()
    if task is None or not task.claimable_by(claims.host_id, now):
        return None
    previous = task.claimed_by if task.claimed_by != claims.host_id else None
    task.claimed(host_id=claims.host_id, lease_until=now + timedelta(seconds=claims.lease),
                 previous=previous)
    try:
        writer.save(task)
    except ConcurrencyError:
        return None  # another host claimed (or changed) it first
    if previous is not None:
        log.info("%s: taken over from host %s (its lease ran out)", what, previous)
    return task


class ClaimLost(Exception):
    """Another writer changed the task: another host holds the claim now, or another
    process stopped it."""


class ClaimHolder(Generic[Task]):
    """A task this host runs: its changes are saved one at a time (lease renewals too); with
    a ``lease`` (shared store) a version conflict means the claim was lost, and the lease is
    renewed in the background from ``start_renewing`` until ``stop_renewing``."""

    def __init__(self, task: Task, writer: EventWriter, lease: Lease | None) -> None:
        self.task: Task = task
        self.lease = lease
        self._writer = writer
        self._lock = threading.Lock()
        self._lost = False
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None
        self._queued: Pending | None = None  # a change saved without waiting (``queue``)
        # a change to apply and queue once some work is done (``queue_after``)
        self._deferred: tuple[Sequence[concurrent.futures.Future[Any]],
                              Callable[[Task], None]] | None = None

    @property
    def lost(self) -> bool:
        """True once a write found the task changed by another host."""
        return self._lost

    @contextlib.contextmanager
    def holding(self) -> Iterator[Task]:
        """The task, while no renewal or other change runs; ``ClaimLost`` raised inside (by
        whoever saved the task) is remembered."""
        with self._lock:
            if self._lost:
                raise ClaimLost()
            try:
                yield self.task
            except ClaimLost:
                self._lost = True
                raise

    def commit(self, change: Callable[[Task], None]) -> None:
        """Apply ``change`` to the task and save it: ``ClaimLost`` when another writer
        changed it first (another host took it over, or another process recorded a stop):
        the task is theirs now, and this process stops it without a word more. A change
        ``queue``d before is stored first (what it raised is raised here instead)."""
        with self.holding() as task:
            self._settle()
            change(task)
            try:
                self._writer.save(task)
            except ConcurrencyError:
                raise ClaimLost() from None

    def queue(self, change: Callable[[Task], None]) -> None:
        """Apply ``change`` and queue its save without waiting for it: the work it records
        the start of goes on meanwhile. Nothing after it is saved before it is stored
        (the next ``commit`` waits for it, and raises what it raised), so no outcome is on
        record without it, and a crash before it is stored leaves the task as it was."""
        with self.holding() as task:
            self._settle()
            change(task)
            pending = Pending()
            self._writer.submit(pending, task)
            self._queued = pending

    def queue_after(self, ready: Sequence[concurrent.futures.Future[Any]],
                    change: Callable[[Task], None]) -> None:
        """``queue`` ``change`` once ``ready`` are done (work the change records, such as
        pages being written): the caller goes on meanwhile (a search's worker to the next
        search). ``flush``, or the next ``commit``, waits for them, then applies and stores
        the change; ``change`` reads their results (it must not raise: it is applied after
        the caller has gone on)."""
        with self.holding():
            self._settle()
            self._deferred = (ready, change)

    @property
    def queued(self) -> bool:
        """A change is queued and maybe not stored yet."""
        return self._queued is not None or self._deferred is not None

    def flush(self) -> None:
        """Wait until a queued change is stored (raises what storing it raised)."""
        with self.holding():
            self._settle()

    def _settle(self) -> None:
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            ready, change = deferred
            concurrent.futures.wait(ready)
            change(self.task)
            self._queued = Pending()
            self._writer.submit(self._queued, self.task)
        pending, self._queued = self._queued, None
        if pending is None:
            return
        try:
            pending.result(COMMIT_TIMEOUT)
        except ConcurrencyError:
            raise ClaimLost() from None

    def start_renewing(self, on_lost: Callable[[], None]) -> None:
        """Renew the lease every third of it until ``stop_renewing``; ``on_lost`` runs when
        a renewal finds the claim taken over. Nothing to do without a lease."""
        lease = self.lease
        if lease is None:
            return

        @idle_wait
        def renew() -> None:
            while not self._done.wait(lease.seconds / 3):
                try:
                    self.commit(lambda task: task.lease_renewed(
                        host_id=lease.host_id, lease_until=lease.until()))
                except ClaimLost:
                    on_lost()
                    return
                except Exception:
                    log.exception("task %s: renewing its lease failed", self.task.id)

        self._renewer = threading.Thread(target=renew, daemon=True,
                                         name=f"vipb-lease-{self.task.id.hex[:8]}")
        self._renewer.start()

    def stop_renewing(self) -> None:
        """No more renewals (the task has its outcome, or this host let it go)."""
        self._done.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join()
