"""Group commit: events from many actors go into one SQLite (or PostgreSQL) transaction.

Each submitter gets a future that resolves with its notification ids only after the
transaction that holds its events has committed, so acknowledgement still means durable.
If a batch fails on a conflict, its items are retried one by one so that only the
conflicting submitter sees the error.

Writes use a dedicated sqlite3 connection rather than the eventsourcing recorder: the
recorder's pooled-connection and context-manager machinery costs ~60 us of GIL time per
transaction, which the single writer thread pays while every producer waits. Rows are the
recorder's own format (same table, same columns), and reads still go through the recorder.
``PostgresGroupCommitter`` does the same on PostgreSQL, with eventsourcing's write protocol
(table lock, so notification ids commit in order across hosts; NOTIFY for its subscribers).
"""

from __future__ import annotations

import _thread
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from adapters.sql import PgLocation
from adapters.store._space import storage_problem
from domain.errors import ConcurrencyError, DatabaseError
from domain.waits import idle_wait
from projections.sql import bound_wal

if TYPE_CHECKING:  # loaded with the first PostgreSQL connection, never on SQLite
    import psycopg

log = logging.getLogger(__name__)


class Pending:
    """A submitter's handle: waits on one C-level lock (cheaper than a Condition-based
    ``concurrent.futures.Future`` on this hot path)."""

    __slots__ = ("_done", "_error", "_ids", "after", "events", "then")

    def __init__(self, events: Sequence[StoredEvent] = (), after: Pending | None = None) -> None:
        self.events = events
        self.then: Callable[[], None] | None = None  # run after a successful commit
        # stored only if ``after`` (submitted before it) was: the next version of an
        # aggregate queued behind the last is never stored without it (a gap)
        self.after = after
        self._ids: list[int] | None = None
        self._error: BaseException | None = None
        self._done = _thread.allocate_lock()
        self._done.acquire()

    @property
    def refused(self) -> BaseException | None:
        """Why it was not stored, once that is known (None: stored, or not known yet)."""
        return self._error if not self._done.locked() else None

    def set_result(self, ids: list[int]) -> None:
        """Committed: run ``then`` (if any), hand over the notification ids."""
        self.after = None  # (decided: what waited on it holds no chain of the ones before)
        self._ids = ids
        if self.then is not None:
            try:
                self.then()
            except Exception:
                log.exception("post-commit hook failed")
        self._done.release()

    def set_exception(self, error: BaseException) -> None:
        """Not committed: hand over the reason."""
        self.after = None
        self._error = error
        self._done.release()

    def result(self, timeout: float | None = None) -> list[int]:
        """Wait for the commit; raise what it raised."""
        if not self._done.acquire(timeout=-1 if timeout is None else timeout):
            raise DatabaseError("timed out waiting for the event store to commit")
        self._done.release()
        if self._error is not None:
            raise self._error
        assert self._ids is not None
        return self._ids


class GroupCommitter:
    """A single writer thread that batches submitted events into shared transactions."""

    # what the database raises when an (originator, version) is taken: a version conflict
    conflicts: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, db_path: Path | None, max_batch_events: int = 1000,
                 table: str = "stored_events") -> None:
        self._db_path = db_path
        self._insert_sql = f"INSERT INTO {table} VALUES (?,?,?,?)"
        self._conn: Any = None
        self._max = max_batch_events
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], None]] = []
        # listeners woken only by commits holding one of their topics
        self._topic_listeners: list[tuple[frozenset[str], Callable[[int], None]]] = []
        self._thread = threading.Thread(target=self._run, name="vipb-committer", daemon=True)
        self._started = False
        self._closed = False
        self._writing = threading.Lock()  # held per transaction; ``paused`` takes it
        self._short_of_space = False  # a write failed for the file system's sake
        self.transactions = 0

    def start(self) -> None:
        """Start the writer thread."""
        if not self._started:
            self._started = True
            self._thread.start()

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(last_notification_id)`` after every commit (from the writer thread)."""
        self._listeners.append(listener)

    def add_topic_listener(self, topics: frozenset[str],
                           listener: Callable[[int], None]) -> None:
        """Call ``listener(last_notification_id)`` after each commit that holds an event of
        one of ``topics`` (from the writer thread); other commits cost it nothing."""
        self._topic_listeners.append((topics, listener))

    def remove_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
        self._topic_listeners = [(t, f) for t, f in self._topic_listeners if f != listener]

    def submit(self, events: Sequence[StoredEvent]) -> Pending:
        """Queue events for the next transaction; ``result()`` gives their notification ids."""
        item = Pending(events)
        self.submit_pending(item)
        return item

    def submit_pending(self, pending: Pending) -> None:
        """Queue a handle created by the waiter itself (actors reply through it directly)."""
        if self._closed:
            raise DatabaseError("the event store is closed")
        self._queue.put(pending)

    def commit(self, events: Sequence[StoredEvent], timeout: float = 60.0) -> list[int]:
        """Submit and wait until committed; raises what the commit raised."""
        return self.submit(events).result(timeout)

    def stop(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        if self._started and not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No transaction commits while inside (submissions queue up and wait): a consistent
        moment for copying the store alongside other files."""
        with self._writing:
            yield

    def _connect(self) -> Any:
        assert self._db_path is not None
        conn = sqlite3.connect(self._db_path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an ack means durable, even on power loss
        bound_wal(conn)
        return conn

    def _run(self) -> None:
        self._conn = self._connect()
        try:
            self._loop()
        finally:
            self._conn.close()

    @idle_wait
    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._drain(first)
            with self._writing:
                self._write(batch)
            if stop:
                return

    def _drain(self, first: Pending) -> tuple[list[Pending], bool]:
        batch, count = [first], len(first.events)
        while count < self._max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            count += len(item.events)
        return batch, False

    def _write(self, batch: list[Pending]) -> None:
        batch = [item for item in batch if not _after_refused(item)]
        if not batch:
            return
        try:
            events = [e for item in batch for e in item.events]
            ids = self._insert(events)
        except self.conflicts:
            for item in batch:
                self._write_one(item)
            return
        except Exception as exc:
            error = self._failure(exc)
            log.error("event store write failed: %s", error.message, exc_info=exc)
            for item in batch:
                item.set_exception(error)
            return
        offset = 0
        for item in batch:
            item.set_result(ids[offset : offset + len(item.events)])
            offset += len(item.events)
        self._notify(ids, events)

    def _write_one(self, item: Pending) -> None:
        if _after_refused(item):  # (its predecessor was refused earlier in this batch)
            return
        try:
            ids = self._insert(item.events)
        except self.conflicts:
            item.set_exception(
                ConcurrencyError("another writer changed the same record first; try again")
            )
            return
        except Exception as exc:
            item.set_exception(self._failure(exc))
            return
        item.set_result(ids)
        self._notify(ids, item.events)

    def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
        conn: sqlite3.Connection = self._conn
        assert conn is not None
        ids: list[int] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for e in events:
                oid = e.originator_id
                cur = conn.execute(self._insert_sql, (
                    oid.hex if isinstance(oid, UUID) else oid, e.originator_version, e.topic,
                    e.state))
                ids.append(cur.lastrowid or 0)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a full disk may have rolled it back already
                conn.execute("ROLLBACK")
            raise
        self.transactions += 1
        if self._short_of_space:  # room again: give back what the WAL grew to meanwhile
            self._short_of_space = False
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return ids

    def _failure(self, exc: BaseException) -> DatabaseError:
        """The error a failed write gives its waiters: the file system's problem in words
        (a full disk, a read-only mount) when it is one, else the database's message."""
        problem = storage_problem(self._db_path) if self._db_path is not None else None
        if problem is None:
            return DatabaseError(f"event store write failed: {exc}")
        self._short_of_space = True
        return DatabaseError(f"event store write failed: {problem}")

    def _notify(self, ids: list[int], events: Sequence[StoredEvent]) -> None:
        if not ids:
            return
        woken = list(self._listeners)
        for topics, listener in list(self._topic_listeners):
            if any(e.topic in topics for e in events):
                woken.append(listener)
        for listener in woken:
            try:
                listener(ids[-1])
            except Exception:
                log.exception("commit listener failed")


def _after_refused(item: Pending) -> bool:
    """Refuse ``item`` when what it must follow was refused (with the same reason). What it
    follows was submitted first, so it has been decided by now, or shares ``item``'s
    transaction (stored or refused with it)."""
    before = item.after
    error = before.refused if before is not None else None
    if error is None:
        return False
    item.set_exception(error)
    return True


class _NotSent(Exception):
    """The session had ended before the insert was sent."""


class PostgresGroupCommitter(GroupCommitter):
    """Group commit into eventsourcing's PostgreSQL table, by its write protocol: inside the
    transaction, ``LOCK TABLE ... IN EXCLUSIVE MODE`` (readers are not blocked) so that
    notification ids are handed out and committed in the same order by every host (a reader
    tailing the log never passes a gap that fills in later), and ``NOTIFY`` for subscribers.
    A lost connection fails the batch in hand and is reopened for the next one."""

    def __init__(self, location: PgLocation, max_batch_events: int = 1000,
                 table: str = "vipb_events") -> None:
        import psycopg.errors

        self.conflicts = (psycopg.errors.UniqueViolation,)
        super().__init__(None, max_batch_events, table)
        self._location = location
        schema = location.schema_of("events")
        self._lock_sql = f'LOCK TABLE "{schema}"."{table}" IN EXCLUSIVE MODE'
        self._notify_sql = f'NOTIFY "{table.replace(".", "_")}"'
        self._insert_sql = (
            f'INSERT INTO "{schema}"."{table}" (originator_id, originator_version, topic, '
            "state) SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id")

    def _connect(self) -> Any:
        conn = self._location.connect_raw()
        conn.execute("SET lock_timeout = '30s'")
        return conn

    def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
        conn: psycopg.Connection[Any] = self._conn
        if conn.closed:  # lost with the batch before: try a new one
            self._conn = conn = self._connect()
        columns: tuple[list[Any], ...] = ([], [], [], [])
        for e in events:
            columns[0].append(e.originator_id)
            columns[1].append(e.originator_version)
            columns[2].append(e.topic)
            columns[3].append(e.state)
        try:
            rows = self._transaction(conn, columns)
        except _NotSent:  # the session had ended before the insert: nothing happened
            self._conn = conn = self._connect()
            rows = self._transaction(conn, columns)
        self.transactions += 1
        return [int(row[0]) for row in rows]

    def _transaction(self, conn: psycopg.Connection[Any],
                     columns: tuple[list[Any], ...]) -> list[Any]:
        """Lock, notify, insert, commit; ``_NotSent`` when the session was found ended
        before the insert went out (safe to run again on a new one)."""
        import psycopg

        sent = False
        try:
            with conn.transaction():
                conn.execute(self._lock_sql, prepare=True)
                conn.execute(self._notify_sql, prepare=True)
                sent = True
                return conn.execute(self._insert_sql, columns, prepare=True).fetchall()
        except psycopg.OperationalError:
            conn.close()
            if not sent:
                raise _NotSent() from None
            raise  # it may or may not have committed: not acknowledged, the caller decides
