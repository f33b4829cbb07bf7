"""Load aggregates and save their pending events through the group committer."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, DomainEvent

from adapters.store import EventLog, EventStoreApp, GroupCommitter, Pending

A = TypeVar("A", bound=Aggregate)
COMMIT_TIMEOUT = 60.0


class EventWriter:
    """The write side shared by all actors: encrypt in the caller's thread, commit in groups."""

    def __init__(self, app: EventStoreApp, committer: GroupCommitter) -> None:
        self.app = app
        self.committer = committer

    @property
    def log(self) -> EventLog:
        """The notification log, for actors that follow it (never the recorder itself)."""
        return self.app.event_log

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, or None if it has no events."""
        try:
            aggregate: Aggregate = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def events_of(self, aggregate_id: UUID) -> list[DomainEvent]:
        """The stored events of one aggregate, oldest first (decoded)."""
        return [e for e in self.app.repository.event_store.get(aggregate_id)
                if isinstance(e, DomainEvent)]

    def submit(self, pending: Pending, *aggregates: Aggregate | None) -> None:
        """Queue the pending events of ``aggregates`` for commit without waiting: ``pending``
        is resolved (by the committer thread) once they are committed or refused."""
        events = [e for agg in aggregates if agg is not None for e in agg.collect_events()]
        if not events:
            pending.set_result([])
            return
        mapper = self.app.mapper
        pending.events = [mapper.to_stored_event(e) for e in events]
        self.committer.submit_pending(pending)

    def save(self, *aggregates: Aggregate | None) -> list[int]:
        """Commit the pending events of ``aggregates`` atomically; return notification ids.

        Returns only after the transaction holding them has committed.
        """
        pending = Pending()
        self.submit(pending, *aggregates)
        return pending.result(COMMIT_TIMEOUT)
