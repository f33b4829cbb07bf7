"""The database API views and queries are written against: the slice of ``sqlite3`` they use.

An ``sqlite3`` connection satisfies it as is (the default, embedded store); on PostgreSQL the
store adapter hands out connections that take the same SQLite-spelled statements
(``adapters.sql``). Write SQL both engines accept: ``INSERT ... ON CONFLICT (...) DO UPDATE``
(``upsert`` below) rather than ``INSERT OR REPLACE``, ``COALESCE``, ``lower(x)`` rather than
``COLLATE NOCASE`` in queries, explicit columns rather than ``rowid``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Protocol


class Row(Protocol):
    """A result row: by position, by column name, and its column names."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """A cursor: run statements, read rows."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...


class Connection(Protocol):
    """A connection in autocommit mode: transactions are explicit BEGIN/COMMIT/ROLLBACK."""

    def cursor(self) -> Any: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


@lru_cache(maxsize=256)
def upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    """``INSERT INTO table (columns) VALUES (?...) ON CONFLICT (key) DO UPDATE SET`` every
    other column: a full-row replace keyed on ``key``, in SQL both engines run."""
    others = [c for c in columns if c not in key]
    action = ("DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in others)
              if others else "DO NOTHING")
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))}) ON CONFLICT ({', '.join(key)}) {action}")


def columns_of(cur: Cursor, table: str) -> list[str]:
    """The column names of ``table`` (a trusted name), in order; raises if it is missing."""
    cur.execute(f"SELECT * FROM {table} WHERE 1=0")
    return [d[0] for d in cur.description]


@lru_cache(maxsize=256)
def _delete_by(table: str, key: tuple[str, ...]) -> str:
    return f"DELETE FROM {table} WHERE {' AND '.join(f'{k}=?' for k in key)}"


@lru_cache(maxsize=256)
def _insert(table: str, columns: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))})")


def replace_row(cur: Cursor, table: str, key: tuple[str, ...], row: dict[str, Any]) -> None:
    """What SQLite's ``INSERT OR REPLACE`` does, in SQL both engines run: the row with the
    same ``key`` goes, ``row`` comes in whole (columns it does not name take their defaults).
    Use ``upsert`` when every column is given (one statement)."""
    cur.execute(_delete_by(table, key), [row[k] for k in key])
    cur.execute(_insert(table, tuple(row)), list(row.values()))


WAL_PAGES = 256  # checkpoint the WAL at about 1 MiB (4 KiB pages), not SQLite's 4 MiB
WAL_KEEP = 1 << 20  # bytes a WAL is truncated to after a checkpoint (SQLite keeps it all)


def bound_wal(conn: Connection) -> None:
    """Keep the WAL of a connection writing an SQLite file small: checkpointed at ~1 MiB and
    truncated back to 1 MiB after, so the files on a small volume stay near their data (the
    event store's writer and the views' runner both use it)."""
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP}")
