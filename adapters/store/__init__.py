"""The event store (SQLite by default, PostgreSQL for several hosts): the eventsourcing
application, the shredding mapper, group commit, the audit chain, the backends.

The names below load their modules on first use (PEP 562): a CLI command that talks to a
host needs a time parser and the storage check, not eventsourcing, the cipher and the
backends, which took ~0.1 s of each command's start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.store._app import EventStoreApp
    from adapters.store._audit import AuditChain, AuditReport
    from adapters.store._backend import PostgresBackend, SQLiteBackend, StoreBackend, open_backend
    from adapters.store._checkpoint import check_checkpoints, make_checkpoint, read_checkpoints
    from adapters.store._committer import GroupCommitter, Pending, PostgresGroupCommitter
    from adapters.store._export import export_events, public_hex, signing_key, verify_export
    from adapters.store._history import EventEntry, EventHistory
    from adapters.store._log import BATCH, EventLog, Subscription, topics_of
    from adapters.store._mapper import CorruptEventError, ShreddedEventError, ShreddingMapper
    from adapters.store._since import parse_since
    from adapters.store._space import storage_problem

_HOMES = {
    "EventStoreApp": "_app",
    "AuditChain": "_audit",
    "AuditReport": "_audit",
    "PostgresBackend": "_backend",
    "SQLiteBackend": "_backend",
    "StoreBackend": "_backend",
    "open_backend": "_backend",
    "check_checkpoints": "_checkpoint",
    "make_checkpoint": "_checkpoint",
    "read_checkpoints": "_checkpoint",
    "GroupCommitter": "_committer",
    "Pending": "_committer",
    "PostgresGroupCommitter": "_committer",
    "export_events": "_export",
    "public_hex": "_export",
    "signing_key": "_export",
    "verify_export": "_export",
    "EventEntry": "_history",
    "EventHistory": "_history",
    "parse_since": "_since",
    "BATCH": "_log",
    "EventLog": "_log",
    "Subscription": "_log",
    "topics_of": "_log",
    "CorruptEventError": "_mapper",
    "ShreddedEventError": "_mapper",
    "ShreddingMapper": "_mapper",
    "storage_problem": "_space",
}


__getattr__ = lazy_exports(__name__, _HOMES, globals())


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
