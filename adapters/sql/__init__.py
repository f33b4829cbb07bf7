"""SQL connections for both backends: embedded SQLite (default) and PostgreSQL (several
hosts), with our SQLite-spelled statements rewritten for PostgreSQL."""

from adapters.sql._dialect import UnportableSQLError, to_postgres
from adapters.sql._location import (
    PASSWORD_CREDENTIAL,
    PASSWORD_ENV,
    PgLocation,
    store_password,
)
from adapters.sql._pg import VIPB_LOCK_KEY, PgConnection, PgCursor, Row

__all__ = [
    "PASSWORD_CREDENTIAL",
    "PASSWORD_ENV",
    "VIPB_LOCK_KEY",
    "PgConnection",
    "PgCursor",
    "PgLocation",
    "Row",
    "UnportableSQLError",
    "store_password",
    "to_postgres",
]
