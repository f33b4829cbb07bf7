"""The SQLite event store: the eventsourcing application, the shredding mapper, group commit."""

from adapters.store._app import EventStoreApp
from adapters.store._committer import GroupCommitter, Pending
from adapters.store._history import EventEntry, EventHistory, parse_since
from adapters.store._mapper import ShreddedEventError, ShreddingMapper

__all__ = [
    "EventEntry",
    "EventHistory",
    "EventStoreApp",
    "GroupCommitter",
    "Pending",
    "ShreddedEventError",
    "ShreddingMapper",
    "parse_since",
]
