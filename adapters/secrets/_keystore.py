"""Per-aggregate data keys, wrapped by the master key, in their own SQLite file (or their
own PostgreSQL schema when several hosts share a database).

Destroying a key deletes its row. In SQLite with ``secure_delete`` on and a rollback journal
(no WAL copy survives), so the wrapped bytes are gone from disk: whatever was encrypted with
that key is unreadable from then on, with or without the master key (crypto-shredding). In
PostgreSQL the table is vacuumed after the delete, so the row's space is reclaimed; copies in
the server's WAL archive and in backups outlive it until they are rotated (README, several
hosts).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from adapters.secrets._aead import Aead, derive_key
from domain.errors import SecurityError
from projections.sql import Connection

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS data_keys (aggregate_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
)


_MISSING = object()


class DataKeyStore:
    """Create, fetch and destroy 32-byte data keys, one per aggregate id. Thread-safe."""

    def __init__(self, db: Connection, master: bytes,
                 after_destroy: Callable[[Connection], None] | None = None) -> None:
        """Use ``db`` (an autocommit connection this store now owns); ``after_destroy`` runs
        after each deleted key (PostgreSQL: vacuum the table)."""
        self._wrap = Aead(derive_key(master, "wrap-data-keys"))
        self._check = hmac.new(derive_key(master, "key-check"), b"vipb", hashlib.sha256).digest()
        self._lock = threading.Lock()
        self._cache: dict[UUID, bytes | None] = {}
        self._db = db
        self._after_destroy = after_destroy
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._verify_master()

    @classmethod
    def on_sqlite(cls, path: Path, master: bytes) -> DataKeyStore:
        """The key store in its own SQLite file (mode 0600)."""
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA busy_timeout=30000")
        os.chmod(path, 0o600)
        return cls(db, master)

    def _verify_master(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE name='key_check'").fetchone()
        if row is None:
            # two hosts starting on a new database at once: the second insert is ignored
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('key_check', ?)",
                             (self._check,))
            row = self._db.execute("SELECT value FROM meta WHERE name='key_check'").fetchone()
        if not hmac.compare_digest(bytes(row[0]), self._check):
            raise SecurityError("the master key does not match this data dir (wrong key source?)")

    def create(self, aggregate_id: UUID) -> bytes:
        """Make and store a new data key for ``aggregate_id``."""
        key = os.urandom(32)
        wrapped = self._wrap.encrypt(key, aggregate_id.bytes)
        with self._lock:
            self._db.execute("INSERT INTO data_keys VALUES (?, ?)", (aggregate_id.hex, wrapped))
            self._cache[aggregate_id] = key
        return key

    def get(self, aggregate_id: UUID) -> bytes | None:
        """The data key of ``aggregate_id``, or None if it has none (or it was destroyed)."""
        cached = self._cache.get(aggregate_id, _MISSING)  # dict reads are atomic: no lock
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        with self._lock:
            if aggregate_id in self._cache:
                return self._cache[aggregate_id]
            row = self._db.execute(
                "SELECT wrapped FROM data_keys WHERE aggregate_id=?", (aggregate_id.hex,)
            ).fetchone()
            key = self._wrap.decrypt(row[0], aggregate_id.bytes) if row else None
            self._cache[aggregate_id] = key
            return key

    def destroy(self, aggregate_id: UUID) -> None:
        """Delete the key for good; cached copies in this process are dropped too."""
        with self._lock:
            self._db.execute("DELETE FROM data_keys WHERE aggregate_id=?", (aggregate_id.hex,))
            self._cache[aggregate_id] = None
            if self._after_destroy is not None:
                self._after_destroy(self._db)

    def evict(self, aggregate_id: UUID) -> None:
        """Forget this process's cached copy of one key (another host sharing the store
        destroyed it): the next ``get`` reads the store."""
        with self._lock:
            self._cache.pop(aggregate_id, None)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
