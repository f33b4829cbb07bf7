"""Group commit: events from many actors go into one SQLite transaction.

Each submitter gets a future that resolves with its notification ids only after the
transaction that holds its events has committed, so acknowledgement still means durable.
If a batch fails on a conflict, its items are retried one by one so that only the
conflicting submitter sees the error.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent

from domain.errors import ConcurrencyError, DatabaseError

log = logging.getLogger(__name__)


@dataclass
class _Item:
    events: Sequence[StoredEvent]
    future: Future[list[int]] = field(default_factory=Future)


class GroupCommitter:
    """A single writer thread that batches submitted events into shared transactions."""

    def __init__(self, recorder: ApplicationRecorder, max_batch_events: int = 1000) -> None:
        self._recorder = recorder
        self._max = max_batch_events
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], None]] = []
        self._thread = threading.Thread(target=self._run, name="vipb-committer", daemon=True)
        self._started = False
        self._closed = False
        self.transactions = 0

    def start(self) -> None:
        """Start the writer thread."""
        if not self._started:
            self._started = True
            self._thread.start()

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(last_notification_id)`` after every commit (from the writer thread)."""
        self._listeners.append(listener)

    def submit(self, events: Sequence[StoredEvent]) -> Future[list[int]]:
        """Queue events for the next transaction; the future gives their notification ids."""
        if self._closed:
            raise DatabaseError("the event store is closed")
        item = _Item(events)
        self._queue.put(item)
        return item.future

    def commit(self, events: Sequence[StoredEvent], timeout: float = 60.0) -> list[int]:
        """Submit and wait until committed; raises what the commit raised."""
        return self.submit(events).result(timeout)

    def stop(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        if self._started and not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._drain(first)
            self._write(batch)
            if stop:
                return

    def _drain(self, first: _Item) -> tuple[list[_Item], bool]:
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

    def _write(self, batch: list[_Item]) -> None:
        try:
            ids = self._insert([e for item in batch for e in item.events])
        except IntegrityError:
            for item in batch:
                self._write_one(item)
            return
        except Exception as exc:
            log.exception("event store write failed")
            for item in batch:
                item.future.set_exception(DatabaseError(f"event store write failed: {exc}"))
            return
        offset = 0
        for item in batch:
            item.future.set_result(ids[offset : offset + len(item.events)])
            offset += len(item.events)
        self._notify(ids)

    def _write_one(self, item: _Item) -> None:
        try:
            ids = self._insert(item.events)
        except IntegrityError:
            item.future.set_exception(
                ConcurrencyError("another writer changed the same record first; try again")
            )
            return
        except Exception as exc:
            item.future.set_exception(DatabaseError(f"event store write failed: {exc}"))
            return
        item.future.set_result(ids)
        self._notify(ids)

    def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
        ids = self._recorder.insert_events(events)
        self.transactions += 1
        return list(ids or [])

    def _notify(self, ids: list[int]) -> None:
        if not ids:
            return
        for listener in self._listeners:
            try:
                listener(ids[-1])
            except Exception:
                log.exception("commit listener failed")
