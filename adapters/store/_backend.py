"""Where a data dir's durable state lives: embedded SQLite files (the default) or one
PostgreSQL database that several hosts share (``VIPB_STORE``).

Either way the same four parts: the event log, the data keys, the audit chain and the read
models. A backend opens each of them; nothing above it knows which engine it talks to.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from abc import ABC, abstractmethod
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.cluster import HostRegistry, LeaderLock
from adapters.config import DataPaths
from adapters.evidence import EvidenceStore, Retention
from adapters.secrets import DataKeyStore
from adapters.sql import PgLocation
from adapters.store._app import PG_EVENTS_TABLE, EventStoreApp
from adapters.store._audit import AuditChain
from adapters.store._committer import GroupCommitter, PostgresGroupCommitter
from projections.queries import connect_read_only
from projections.runner import connect_views_db
from projections.sql import Connection


class StoreBackend(ABC):
    """Opens the parts of one store, and says what it can do: callers ask ``shared``,
    ``on_files``, ``leader_lock`` and ``host_registry`` rather than test its type."""

    kind: str
    shared = False  # several hosts may write this store at once
    on_files = False  # the store is files in the data dir (a backup copies them)

    def leader_lock(self, name: str) -> LeaderLock | None:
        """A lock on job ``name`` that one host of all sharing the store holds at a time;
        None when the store is not shared (a lock file in the data dir serves)."""
        return None

    def host_registry(self, host_id: str) -> HostRegistry | None:
        """Where hosts sharing the store say they are alive; None when not shared."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for logs and `vipb status` (never a secret)."""

    @abstractmethod
    def is_initialized(self) -> bool:
        """Whether `vipb init` has run on this store."""

    @abstractmethod
    def holds_data(self) -> bool:
        """Whether the store has data made with some master key (a key check or events):
        a new key could never read it."""

    @abstractmethod
    def prepare(self) -> None:
        """Create what must exist before the parts open (folders, schemas)."""

    @abstractmethod
    def open_keystore(self, master: bytes) -> DataKeyStore:
        """The per-aggregate data keys (checks the master key against the store's)."""

    @abstractmethod
    def open_app(self, master: bytes, keystore: DataKeyStore) -> EventStoreApp:
        """The event store application."""

    @abstractmethod
    def open_audit(self, key: bytes) -> AuditChain:
        """The audit chain."""

    @abstractmethod
    def open_evidence(self, retention: Retention | None = None) -> EvidenceStore:
        """The store of results pages (evidence)."""

    @abstractmethod
    def committer(self) -> GroupCommitter:
        """A group committer writing to this store's event log (not started)."""

    @abstractmethod
    def connect_views(self) -> Connection:
        """A read-write connection to the read models (the projection runner's)."""

    @abstractmethod
    def connect_read_only(self) -> Connection:
        """A read-only connection to the read models, rows by name."""

    @abstractmethod
    def notification_id_of(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification id of one stored event (for failure reports)."""

    def set_views_aside(self) -> str | None:
        """Move a read-model database that cannot be opened out of the way (views are
        rebuilt from the events); where it went, or None when this store cannot (its views
        live in a database server that keeps its own integrity)."""
        return None


class SQLiteBackend(StoreBackend):
    """Files in the data dir: events.sqlite, keys.sqlite, audit.sqlite, views.sqlite
    (each mode 0600)."""

    kind = "sqlite"
    on_files = True

    def __init__(self, paths: DataPaths) -> None:
        self.paths = paths

    def describe(self) -> str:
        return f"SQLite in {self.paths.root}"

    def is_initialized(self) -> bool:
        return self.paths.is_initialized()

    def holds_data(self) -> bool:
        checks = ((self.paths.keys, "SELECT 1 FROM meta WHERE name='key_check'"),
                  (self.paths.events, "SELECT 1 FROM stored_events LIMIT 1"))
        for path, sql in checks:
            if not path.is_file():
                continue
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn, \
                    contextlib.suppress(sqlite3.OperationalError):  # no table: nothing made
                if conn.execute(sql).fetchone() is not None:
                    return True
        return False

    def prepare(self) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def open_keystore(self, master: bytes) -> DataKeyStore:
        return DataKeyStore.on_sqlite(self.paths.keys, master)

    def open_app(self, master: bytes, keystore: DataKeyStore) -> EventStoreApp:
        app = EventStoreApp.on_sqlite(self.paths.events, master, keystore)
        os.chmod(self.paths.events, 0o600)
        return app

    def open_audit(self, key: bytes) -> AuditChain:
        chain = AuditChain.on_sqlite(self.paths.audit, key)
        os.chmod(self.paths.audit, 0o600)
        return chain

    def open_evidence(self, retention: Retention | None = None) -> EvidenceStore:
        path = self.paths.evidence

        def connect() -> Connection:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # (a new file only) see reclaim
            conn.execute("PRAGMA journal_mode=WAL")
            os.chmod(path, 0o600)
            return conn

        return EvidenceStore(connect, retention,
                             reclaim=lambda db: db.execute("PRAGMA incremental_vacuum"))

    def committer(self) -> GroupCommitter:
        return GroupCommitter(self.paths.events)

    def connect_views(self) -> Connection:
        conn = connect_views_db(self.paths.views)
        os.chmod(self.paths.views, 0o600)
        return conn

    def connect_read_only(self) -> Connection:
        return connect_read_only(self.paths.views)

    def set_views_aside(self) -> str | None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.paths.views.with_name(f"{self.paths.views.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):  # the WAL belongs to the damaged file
            part = Path(f"{self.paths.views}{suffix}")
            if part.exists():
                part.replace(Path(f"{target}{suffix}"))
        return str(target)

    def notification_id_of(self, aggregate_id: UUID, version: int) -> int | None:
        with closing(sqlite3.connect(f"file:{self.paths.events}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT rowid FROM stored_events WHERE originator_id=? AND "
                               "originator_version=?", (aggregate_id.hex, version)).fetchone()
        return int(row[0]) if row else None


class PostgresBackend(StoreBackend):
    """One PostgreSQL database: schemas ``vipb`` (events), ``vipb_keys``, ``vipb_audit``,
    ``vipb_views`` and ``vipb_cluster`` (prefix set by ``?schema=``)."""

    kind = "postgresql"
    shared = True

    def __init__(self, location: PgLocation) -> None:
        self.location = location

    def leader_lock(self, name: str) -> LeaderLock:
        """A PostgreSQL advisory lock named ``name``."""
        return LeaderLock(self.location, name)

    def host_registry(self, host_id: str) -> HostRegistry:
        """The hosts table of the shared database."""
        return HostRegistry(self.location, host_id)

    def describe(self) -> str:
        return self.location.display()

    def _one(self, sql: str) -> Any:
        """The first row of ``sql``, None when there is none or its table does not exist."""
        import psycopg.errors  # loaded by connect_raw already: only named here

        with self.location.connect_raw() as conn:
            try:
                return conn.execute(sql).fetchone()
            except psycopg.errors.UndefinedTable:
                return None

    def is_initialized(self) -> bool:
        keys = self.location.schema_of("keys")
        return self._one(f"SELECT 1 FROM \"{keys}\".meta WHERE name='key_check'") is not None

    def holds_data(self) -> bool:
        events = self.location.schema_of("events")
        return (self.is_initialized()
                or self._one(f'SELECT 1 FROM "{events}".{PG_EVENTS_TABLE} LIMIT 1') is not None)

    # Creating or opening a part runs its DDL (``CREATE ... IF NOT EXISTS``, the event
    # recorder's ``CREATE OR REPLACE FUNCTION``), which PostgreSQL cannot run in two sessions
    # at once: hosts sharing the store (started together, say) take turns on the set-up lock.

    def prepare(self) -> None:
        with self.location.setup_lock():
            self.location.create_schemas()

    def open_keystore(self, master: bytes) -> DataKeyStore:
        with self.location.setup_lock():
            return DataKeyStore(self.location.connect("keys"), master,
                                after_destroy=lambda db: db.execute("VACUUM data_keys"))

    def open_app(self, master: bytes, keystore: DataKeyStore) -> EventStoreApp:
        with self.location.setup_lock():
            return EventStoreApp.on_postgres(self.location, master, keystore)

    def open_audit(self, key: bytes) -> AuditChain:
        with self.location.setup_lock():
            return AuditChain(lambda: self.location.connect("audit"), key)

    def open_evidence(self, retention: Retention | None = None) -> EvidenceStore:
        with self.location.setup_lock():  # stores made before evidence lack its schema
            with self.location.connect_raw() as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.location.schema_of("evidence")}"')
            return EvidenceStore(lambda: self.location.connect("evidence"), retention)

    def committer(self) -> GroupCommitter:
        return PostgresGroupCommitter(self.location)

    def connect_views(self) -> Connection:
        return self.location.connect("views")

    def connect_read_only(self) -> Connection:
        return self.location.connect("views", read_only=True)

    def notification_id_of(self, aggregate_id: UUID, version: int) -> int | None:
        events = self.location.schema_of("events")
        with self.location.connect_raw() as conn:
            row = conn.execute(f'SELECT notification_id FROM "{events}".{PG_EVENTS_TABLE} WHERE '
                               "originator_id=%s AND originator_version=%s",
                               (aggregate_id, version)).fetchone()
        return int(row[0]) if row else None


def open_backend(root: Path, store: str | None) -> StoreBackend:
    """The backend for a data dir and a ``store`` setting (None: SQLite in the data dir)."""
    if not store:
        return SQLiteBackend(DataPaths(root))
    return PostgresBackend(PgLocation.parse(store))
