"""The event store (SQLite by default, PostgreSQL for several hosts): the eventsourcing
application, the shredding mapper, group commit, the audit chain, the backends."""

from adapters.store._app import EventStoreApp
from adapters.store._audit import AuditChain, AuditReport
from adapters.store._backend import (
    PostgresBackend,
    SQLiteBackend,
    StoreBackend,
    open_backend,
)
from adapters.store._checkpoint import check_checkpoints, make_checkpoint, read_checkpoints
from adapters.store._committer import GroupCommitter, Pending, PostgresGroupCommitter
from adapters.store._export import export_events, public_hex, signing_key, verify_export
from adapters.store._history import EventEntry, EventHistory, parse_since
from adapters.store._log import BATCH, EventLog, Subscription, topics_of
from adapters.store._mapper import CorruptEventError, ShreddedEventError, ShreddingMapper
from adapters.store._space import storage_problem

__all__ = [
    "BATCH",
    "AuditChain",
    "AuditReport",
    "CorruptEventError",
    "EventEntry",
    "EventHistory",
    "EventLog",
    "EventStoreApp",
    "GroupCommitter",
    "Pending",
    "PostgresBackend",
    "PostgresGroupCommitter",
    "SQLiteBackend",
    "ShreddedEventError",
    "ShreddingMapper",
    "StoreBackend",
    "Subscription",
    "check_checkpoints",
    "export_events",
    "make_checkpoint",
    "open_backend",
    "parse_since",
    "public_hex",
    "read_checkpoints",
    "signing_key",
    "storage_problem",
    "topics_of",
    "verify_export",
]
