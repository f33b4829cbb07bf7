"""PostgreSQL connections that our SQLite-spelled SQL runs on unchanged.

``PgConnection``/``PgCursor`` offer the slice of the ``sqlite3`` API the code uses (``execute``
returning the cursor, ``executemany``, ``fetchone``/``fetchall``/iteration, ``rowcount``,
``close``), rewrite each statement once (``_dialect``) and give rows that index by position
and by column name like ``sqlite3.Row``. Connections are in autocommit mode: transactions are
the explicit ``BEGIN``/``COMMIT``/``ROLLBACK`` statements the callers already issue.

Values keep SQLite's shapes: a ``bool`` parameter is stored as 0/1 (our columns are integers)
and ``numeric`` results (``SUM`` of integers) come back as ``int`` when whole, else ``float``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from adapters.sql._dialect import to_postgres

if TYPE_CHECKING:  # psycopg is imported by the first connection (_location), not before:
    import psycopg  # a process on SQLite never pays for loading it

_IMMEDIATE = re.compile(r"^\s*BEGIN\s+IMMEDIATE\s*$", re.I)
# the classid half of the key spells "vipb"; the objid half is the schema's hash
VIPB_LOCK_KEY = 1986621538  # "vipb": the first half of every advisory lock key of ours
_WRITER_LOCK = f"SELECT pg_advisory_xact_lock({VIPB_LOCK_KEY}, hashtext(current_schema()))"


class Row(tuple):  # type: ignore[type-arg]  # values of any type, like sqlite3.Row
    """A result row: ``row[0]`` or ``row["column"]``; ``keys()`` lists the columns."""

    __slots__ = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - set per column set by ``_row_class``

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in
                                                             enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    cls = _row_class(tuple(d.name for d in description))
    return lambda values: cls(values)


def configure(conn: psycopg.Connection[Any]) -> None:
    """Set up a fresh connection: autocommit, SQLite-shaped values, UTC."""
    from adapters.sql._pg_values import BoolAsInt, NumericAsNumber

    conn.autocommit = True
    conn.adapters.register_dumper(bool, BoolAsInt)
    conn.adapters.register_loader("numeric", NumericAsNumber)  # built in: no lookup
    conn.execute("SET TIME ZONE 'UTC'")


class PgCursor:
    """A cursor taking SQLite-spelled SQL. A statement that finds its session ended by the
    server is run again once on a new session when no transaction was open (nothing of it
    can have happened); inside a transaction the error stands (the caller rolls back)."""

    def __init__(self, cursor: psycopg.Cursor[Any], owner: PgConnection | None = None) -> None:
        self._cur = cursor
        self._owner = owner

    def _run(self, run: Callable[[psycopg.Cursor[Any]], object]) -> None:
        import psycopg
        from psycopg.pq import TransactionStatus

        idle = self._cur.connection.info.transaction_status == TransactionStatus.IDLE
        try:
            run(self._cur)
        except psycopg.OperationalError:
            if not (idle and self._cur.connection.broken and self._owner is not None
                    and self._owner.can_reopen):
                raise
            self._cur = self._owner.cursor()._cur  # a new session
            run(self._cur)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> PgCursor:
        """Run one statement (rewritten for PostgreSQL). ``BEGIN IMMEDIATE`` keeps its
        SQLite meaning, one writer at a time: the transaction starts by taking an advisory
        lock named after the connection's schema (two hosts creating the same tables, or
        sealing the same chain, take turns instead of failing)."""
        if _IMMEDIATE.match(sql):
            self._run(lambda cur: cur.execute("BEGIN"))
            self._cur.execute(_WRITER_LOCK)
            return self
        if parameters:
            statement = to_postgres(sql, True)
            self._run(lambda cur: cur.execute(statement, parameters))
        else:
            plain = cast(Any, to_postgres(sql, False))
            self._run(lambda cur: cur.execute(plain))
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> PgCursor:
        """Run one statement once per parameter row."""
        statement = to_postgres(sql, True)
        rows = list(seq_of_parameters)
        self._run(lambda cur: cur.executemany(statement, rows))
        return self

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return self._cur.fetchall()

    def fetchmany(self, size: int = 1) -> list[Any]:
        """Up to ``size`` more rows."""
        return self._cur.fetchmany(size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cur)

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cur.rowcount

    @property
    def description(self) -> Any:
        """Column descriptions of the last query (``[0]`` is the name)."""
        return self._cur.description

    def close(self) -> None:
        """Close the cursor."""
        self._cur.close()


class PgConnection:
    """A connection taking SQLite-spelled SQL (see the module docstring). When the server
    ended the session (a restart, a failover, an idle timeout) the next statement opens a
    new one through ``reopen``; a transaction that was open is lost with the old session
    (its caller already got the error)."""

    def __init__(self, conn: psycopg.Connection[Any],
                 reopen: Callable[[], psycopg.Connection[Any]] | None = None) -> None:
        self.raw = conn
        self._reopen = reopen
        self._closed = False

    @property
    def can_reopen(self) -> bool:
        """Whether a new session can replace a lost one."""
        return self._reopen is not None and not self._closed

    def cursor(self) -> PgCursor:
        """A new cursor (on a new session if the server ended this one)."""
        if self.raw.broken and self._reopen is not None and not self._closed:
            self.raw.close()
            self.raw = self._reopen()
        return PgCursor(self.raw.cursor(row_factory=_row_factory), self)

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> PgCursor:
        """Run one statement on a new cursor and return it."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> PgCursor:
        """Run one statement once per parameter row, on a new cursor."""
        return self.cursor().executemany(sql, seq_of_parameters)

    def commit(self) -> None:
        """Nothing to do: autocommit (explicit BEGIN/COMMIT mark transactions)."""

    def close(self) -> None:
        """Close the connection."""
        self._closed = True
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
