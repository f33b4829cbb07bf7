"""eventsourcing's SQLite persistence with one change: a connection given back to the pool
inside a transaction is rolled back first.

eventsourcing runs ``BEGIN`` and ends the transaction in a context manager's exit. An
exception raised between the two (Ctrl-C's KeyboardInterrupt lands at any bytecode of the
main thread) skips that exit while the pool still takes the connection back, and every
later user of it then fails "cannot start a transaction within a transaction": one
interrupted read broke the process's store until it exited. psycopg's pool already resets
such a connection; this does the same for SQLite."""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool
from eventsourcing.sqlite import SQLiteFactory as _EventsourcingSQLiteFactory

# the ``PERSISTENCE_MODULE`` topic that selects this factory
FACTORY_TOPIC = "adapters.store._sqlite:SQLiteFactory"


class _EndingPool(SQLiteConnectionPool):
    """Rolls back a returned connection's open transaction (a no-op when none is open)."""

    def put_connection(self, conn: SQLiteConnection) -> None:
        """Give ``conn`` back with no transaction open (closed if even that fails)."""
        try:
            conn.rollback()  # sqlite3 skips it when no transaction is open
        except sqlite3.Error:
            conn.close()  # the pool drops a closed connection
        super().put_connection(conn)


class SQLiteFactory(_EventsourcingSQLiteFactory):
    """eventsourcing's SQLite factory, its datastore on ``_EndingPool``."""

    def __init__(self, env: Any) -> None:
        """As eventsourcing's, with the same pool settings."""
        super().__init__(env)
        given = self.datastore.pool
        self.datastore.pool = _EndingPool(
            db_name=given.db_name, lock_timeout=given.lock_timeout,
            pool_size=given.pool_size, max_overflow=given.max_overflow,
            pool_timeout=given.pool_timeout, max_age=given.max_age, pre_ping=given.pre_ping)
        given.close()  # it never opened a connection
