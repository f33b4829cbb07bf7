"""Where the data lives: ``VIPB_STORE`` (or ``store`` in vipb.toml).

Unset: embedded SQLite files in the data dir (the default, one host). A
``postgresql://user@host:port/dbname`` URL: one PostgreSQL database that several hosts share
(events, data keys, audit chain and read models, each in its own schema).

The URL never carries the password (it would reach process listings, logs and `vipb status`):
it comes from ``$CREDENTIALS_DIRECTORY/vipb-store-password`` (systemd ``LoadCredential=``),
``VIPB_STORE_PASSWORD``, or libpq's own sources (``~/.pgpass``/``PGPASSFILE``, a service
file). TLS and other connection settings are libpq's ``PG*`` environment variables
(``PGSSLMODE``, ``PGSSLROOTCERT``, ...), which libpq reads itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from adapters.sql._pg import VIPB_LOCK_KEY, PgConnection, configure
from domain.errors import DatabaseError, ValidationError

if TYPE_CHECKING:
    import psycopg

PASSWORD_CREDENTIAL = "vipb-store-password"
PASSWORD_ENV = "VIPB_STORE_PASSWORD"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_PARTS = ("events", "keys", "audit", "views", "cluster", "evidence")


def store_password() -> str:
    """The database password from our sources, or "" to let libpq find one (pgpass, a
    service file, ``PGPASSWORD``). Read at each connection: a rotated secret is picked up."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        path = Path(cred_dir) / PASSWORD_CREDENTIAL
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    return os.environ.get(PASSWORD_ENV, "")


@dataclass(frozen=True)
class PgLocation:
    """One PostgreSQL database (and the prefix of vipb's schemas in it)."""

    host: str
    port: int
    user: str
    dbname: str
    schema: str = "vipb"

    @classmethod
    def parse(cls, url: str) -> PgLocation:
        """Read a ``postgresql://user@host:port/dbname[?schema=name]`` URL; a clear
        ``store:`` error for anything else (a password in it above all)."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or 5432
        except ValueError as exc:
            raise ValidationError(f"not a valid URL ({exc})", field="store") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValidationError("expected postgresql://user@host:port/dbname (or unset for "
                                  "SQLite in the data dir)", field="store")
        if parts.password is not None:
            raise ValidationError(
                "the URL must not carry a password (it would show in process lists and "
                f"logs): put it in $CREDENTIALS_DIRECTORY/{PASSWORD_CREDENTIAL}, "
                f"{PASSWORD_ENV}, or a ~/.pgpass file", field="store")
        host = unquote(parts.hostname or "")
        dbname = unquote(parts.path.lstrip("/"))
        if not host or not dbname or not parts.username:
            raise ValidationError("user, host and database name are all needed: "
                                  "postgresql://user@host:port/dbname", field="store")
        schema = "vipb"
        for item in filter(None, parts.query.split("&")):
            key, _, value = item.partition("=")
            if key != "schema":
                raise ValidationError(
                    f"unknown URL option {key!r} (only schema=; TLS and other settings are "
                    "libpq's PG* environment variables)", field="store")
            schema = unquote(value)
        if not _SCHEMA.match(schema):
            raise ValidationError("schema must be lowercase letters, digits and _ "
                                  "(up to 41)", field="store")
        return cls(host=host, port=port, user=unquote(parts.username), dbname=dbname,
                   schema=schema)

    def display(self) -> str:
        """The URL as logs and `vipb status` show it (it holds no secret)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = "" if self.schema == "vipb" else f"?schema={self.schema}"
        return f"postgresql://{self.user}@{host}:{self.port}/{self.dbname}{suffix}"

    def schema_of(self, part: str) -> str:
        """The schema holding one part: ``events``, ``keys``, ``audit``, ``views``,
        ``cluster``, ``evidence``."""
        assert part in _PARTS, part
        return self.schema if part == "events" else f"{self.schema}_{part}"

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (password from ``store_password``)."""
        kwargs: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user,
                                  "dbname": self.dbname, "connect_timeout": 10,
                                  "application_name": "vipb"}
        password = store_password()
        if password:
            kwargs["password"] = password
        return kwargs

    def connect_raw(self, part: str | None = None) -> psycopg.Connection[Any]:
        """A psycopg connection (autocommit, SQLite-shaped values); ``part``: its schema
        first on the search path."""
        import psycopg  # here, not at import: processes on SQLite never load it (~0.14 s)

        try:
            conn = psycopg.connect(**self.connect_kwargs())
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"cannot connect to {self.display()}: "
                                f"{str(exc).strip().splitlines()[-1]}") from None
        configure(conn)
        if part is not None:
            conn.execute(f'SET search_path TO "{self.schema_of(part)}"')
        return conn

    def connect(self, part: str, *, read_only: bool = False) -> PgConnection:
        """A connection taking our SQLite-spelled SQL, on one part's schema."""
        def open_one() -> psycopg.Connection[Any]:
            conn = self.connect_raw(part)
            if read_only:
                conn.execute("SET default_transaction_read_only = on")
            return conn

        return PgConnection(open_one(), reopen=open_one)

    @contextmanager
    def setup_lock(self) -> Iterator[None]:
        """Hold the store's set-up lock (a session advisory lock, let go when its connection
        closes, so also when the holder dies). PostgreSQL's DDL is not safe to run in two
        sessions at once even with ``IF NOT EXISTS``: concurrent ``CREATE TABLE`` fails on
        the catalog's unique index, concurrent ``CREATE OR REPLACE FUNCTION`` (which the
        event recorder runs at every open) with "tuple concurrently updated". Not reentrant
        across connections: take it once per set-up."""
        with self.connect_raw() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))",
                         (VIPB_LOCK_KEY, f"setup:{self.schema}"))
            yield

    def create_schemas(self) -> None:
        """Create vipb's schemas if missing (``vipb init``)."""
        with self.connect_raw() as conn:
            for part in _PARTS:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema_of(part)}"')
