"""``TaskRunner``: the one way vipb runs background tasks (searches and creator checks).

A task is an aggregate on record (``SearchTask``, ``CreatorCheckTask``) saved before it is
handed here. The runner queues it, runs at most ``workers`` at once, each on a thread of its
own (a task waits on browsers and networks for seconds to minutes: that work never runs on an
actor's thread; a thread whose task ended takes the next one queued, or waits ``KEEP_IDLE``
seconds for one before it ends), and on a store several hosts share claims it just before it
runs, renews the lease while it runs, and looks for claimable tasks of other hosts every
``SCAN_INTERVAL`` seconds (see ``actors.claims``). What a task does and how it records its
outcome is the job's ``perform(holder, token)``: it commits through the ``ClaimHolder`` (a
write that finds the task changed by another host raises ``ClaimLost``) and watches the
``CancelToken`` (stop by request, host stopping, claim taken over).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic
from uuid import UUID

from actors.cancel import CancelToken
from actors.claims import SCAN_INTERVAL, ClaimHolder, ClaimLost, Claims, Task, claim
from actors.writer import EventWriter
from domain.waits import idle_wait

log = logging.getLogger(__name__)

Perform = Callable[[ClaimHolder[Task], CancelToken], None]

# seconds a worker thread whose task ended waits for the next one before it ends: starting a
# thread waits for it to run (under the runner's lock), a twentieth of an HTTP search's time
KEEP_IDLE = 5.0


@dataclass
class _Entry(Generic[Task]):
    """A task this runner knows: queued (not started yet) or running."""

    task: Task
    token: CancelToken = field(default_factory=CancelToken)
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class TaskRunner(Generic[Task]):
    """Queues, claims and runs tasks of one kind (thread-safe; never blocks its callers on a
    task)."""

    def __init__(self, kind: type[Task], perform: Perform[Task], writer: EventWriter,
                 workers: int, name: str, describe: Callable[[Task], str],
                 claims: Claims | None = None) -> None:
        """``name``: the threads' name prefix; ``describe``: a task as the log names it."""
        self._kind: type[Task] = kind
        self._perform: Perform[Task] = perform
        self._writer = writer
        self._workers = workers
        self._name = name
        self._describe: Callable[[Task], str] = describe
        self._claims = claims
        self._lock = threading.Condition()  # notified whenever a task ends here
        self._queue: deque[str] = deque()
        self._entries: dict[str, _Entry[Task]] = {}
        self._finishing = 0  # entries whose job ended and whose last change is being stored
        self._stopping = threading.Event()
        self._scanner: threading.Thread | None = None
        self._handoff: deque[_Entry[Task]] = deque()  # started, for a waiting worker
        self._waiting = 0  # worker threads waiting for a task (``_next``)

    # --- queueing --------------------------------------------------------------------------------

    def submit(self, task: Task) -> bool:
        """Run a task saved on record; False when this runner already has it or stops."""
        key = str(task.id)
        with self._lock:
            if key in self._entries or self._stopping.is_set():
                return False
            self._entries[key] = _Entry(task)
            self._queue.append(key)
            self._pump()
        return True

    def resume(self, task_ids: list[str]) -> int:
        """Run the unfinished tasks a stopped host left (on a shared store, those another
        host holds are passed over when claimed); returns how many were queued."""
        resumed = 0
        for task_id in task_ids:
            task = self._writer.load(self._kind, UUID(task_id))
            if task is not None and not task.finished and self.submit(task):
                resumed += 1
        return resumed

    def unqueue(self, task_id: str | None, record: Callable[[Task], None]) -> list[Task]:
        """Take one queued task (or all) out of the queue before it runs; ``record`` puts
        why on record for each, before anyone waiting on its completion hears it ended.
        Running tasks are not touched (see ``cancel``)."""
        with self._lock:
            keys = [k for k in self._queue if task_id is None or k == task_id]
            for key in keys:
                self._queue.remove(key)
            taken = [self._entries.pop(k) for k in keys]
        try:
            for entry in taken:
                record(entry.task)
        finally:
            with self._lock:
                for entry in taken:
                    entry.done.set()
                self._lock.notify_all()
        return [entry.task for entry in taken]

    def cancel(self, task_id: str | None, reason: str) -> list[str]:
        """Ask one running task (or all) to stop at its next step; their ids."""
        with self._lock:
            running = [(k, e) for k, e in self._entries.items()
                       if e.started and (task_id is None or k == task_id)]
        for _key, entry in running:
            entry.token.cancel(reason)
        return [key for key, _entry in running]

    # --- what runs -------------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        """The tasks queued or running here (as queued: their state may have moved on)."""
        with self._lock:
            return [e.task for e in self._entries.values()]

    def counts(self) -> tuple[int, int]:
        """(queued, running) here."""
        with self._lock:
            return len(self._queue), len(self._entries) - len(self._queue)

    def completion(self, task_ids: list[str]) -> list[threading.Event]:
        """Events set when each task is finished here (or not run by this runner at all)."""
        finished = threading.Event()
        finished.set()
        with self._lock:
            return [e.done if (e := self._entries.get(str(UUID(t)))) else finished
                    for t in task_ids]

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running here (False: ``timeout`` passed first)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._entries, timeout)

    # --- running ---------------------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued tasks while fewer than ``workers`` run (under the lock): on a
        worker thread waiting for one, else on a new thread."""
        while (entry := self._take()) is not None:
            if self._waiting > len(self._handoff):
                self._handoff.append(entry)
                self._lock.notify_all()
            else:
                threading.Thread(target=self._work, args=(entry,), daemon=True,
                                 name=self._thread_name(entry)).start()

    def _take(self) -> _Entry[Task] | None:
        """The next queued task, started, if fewer than ``workers`` run (under the lock)."""
        if not self._queue or \
                len(self._entries) - len(self._queue) - self._finishing >= self._workers:
            return None
        entry = self._entries[self._queue.popleft()]
        entry.started = True
        return entry

    def _thread_name(self, entry: _Entry[Task]) -> str:
        return f"{self._name}-{str(entry.task.id)[:8]}"

    def _work(self, entry: _Entry[Task]) -> None:
        """A worker thread: its task, then the next ones handed over, until none comes
        for ``KEEP_IDLE`` seconds or the runner stops."""
        current: _Entry[Task] | None = entry
        while current is not None:
            threading.current_thread().name = self._thread_name(current)  # logs name it
            self._run(current)
            current = self._next()

    @idle_wait
    def _next(self) -> _Entry[Task] | None:
        """This worker's next task: one queued (the slot its task left), else one handed
        over within ``KEEP_IDLE`` seconds; None: the thread ends."""
        with self._lock:
            if not self._stopping.is_set():
                own = self._take()
                if own is not None:
                    self._pump()  # (slots beyond this one, freed meanwhile)
                    return own
            self._waiting += 1
            try:
                self._lock.wait_for(lambda: self._handoff or self._stopping.is_set(),
                                    KEEP_IDLE)
                return self._handoff.popleft() if self._handoff else None
            finally:
                self._waiting -= 1

    def _run(self, entry: _Entry[Task]) -> None:
        what = self._describe(entry.task)
        holder: ClaimHolder[Task] | None = None
        try:
            task = entry.task if self._claims is None else claim(
                self._writer, self._kind, entry.task.id, self._claims, what)
            if task is not None:  # cancelled meanwhile: the job records that itself
                holder = ClaimHolder(task, self._writer,
                                     None if self._claims is None else self._claims.holding())
                self._hold(holder, entry.token, what)
        except ClaimLost:
            log.warning("%s: changed by another host or process (taken over, or stopped); "
                        "stopping here", what)
        except Exception:
            log.exception("%s failed", what)
        finally:
            if holder is not None:
                self._finish(holder, what)
            with self._lock:
                self._entries.pop(str(entry.task.id), None)
                entry.done.set()
                self._lock.notify_all()  # (the slot goes to the next task: ``_next``)

    def _hold(self, holder: ClaimHolder[Task], token: CancelToken, what: str) -> None:
        def lost() -> None:
            log.warning("%s: another host took it over", what)
            token.cancel("another host took the task over", interrupted=True)

        holder.start_renewing(lost)
        try:
            self._perform(holder, token)
        finally:
            holder.stop_renewing()

    def _finish(self, holder: ClaimHolder[Task], what: str) -> None:
        """A change the job queued and did not wait for (its outcome) is stored before its
        task is reported done here; meanwhile its worker slot goes to the next task (the
        wait is the event store's, not the job's: 17% of an HTTP search's time)."""
        freed = holder.queued
        if freed:
            with self._lock:
                self._finishing += 1
                if not self._stopping.is_set():
                    self._pump()
        try:
            holder.flush()
        except ClaimLost:
            pass
        except Exception:
            log.exception("%s: storing its last change failed", what)
        finally:
            if freed:
                with self._lock:
                    self._finishing -= 1

    # --- on a shared store -----------------------------------------------------------------------

    def start_scanning(self) -> None:
        """On a shared store: look for claimable tasks now and then (a host does; a CLI
        process only runs what it queued itself)."""
        if self._claims is not None and self._scanner is None:
            self._scanner = threading.Thread(target=self._scan_loop, daemon=True,
                                             name=f"{self._name}-scan")
            self._scanner.start()

    @idle_wait
    def _scan_loop(self) -> None:
        while not self._stopping.wait(SCAN_INTERVAL):
            try:
                self._scan()
            except Exception:
                log.exception("looking for claimable %s tasks failed; will retry",
                              self._kind.__name__)

    def _scan(self) -> None:
        """Queue claimable tasks this runner does not know yet (found in the read models,
        which may lag: each is checked against the store when it is claimed)."""
        claims = self._claims
        assert claims is not None
        with self._lock:
            known = set(self._entries)
        free = self._workers - len(known)
        if free <= 0:
            return
        for task_id in claims.candidates(claims.host_id, claims.now(), free + len(known)):
            if task_id in known or free <= 0:
                continue
            task = self._writer.load(self._kind, UUID(task_id))
            if task is not None and task.claimable_by(claims.host_id, claims.now()) \
                    and self.submit(task):
                free -= 1

    # --- stopping --------------------------------------------------------------------------------

    def close(self, reason: str = "host stopping", wait: bool = True,
              timeout: float = 120.0) -> None:
        """Stop taking tasks; queued ones stay pending on record (the next start, or another
        host, runs them); running ones are interrupted (``token.interrupted``: their job
        leaves them pending too) and, with ``wait``, waited for, each up to ``timeout``
        seconds (else ``idle`` waits for them)."""
        self._stopping.set()
        with self._lock:
            self._queue.clear()
            running = [e for e in self._entries.values() if e.started]
            for key in [k for k, e in self._entries.items() if not e.started]:
                self._entries.pop(key).done.set()
            self._lock.notify_all()  # (waiting workers end too)
        if running:
            log.info("interrupting %d running %s tasks (they resume at the next start)",
                     len(running), self._kind.__name__)
        for entry in running:
            entry.token.cancel(reason, interrupted=True)
        for entry in running if wait else []:
            if not entry.done.wait(timeout):
                log.warning("%s did not stop in time", self._describe(entry.task))
        if self._scanner is not None:
            self._scanner.join()  # a scan in progress queues nothing more (stopping)
