"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` in a temp dir,
listening on 127.0.0.1 (and a socket in that dir) only, trust authentication, no fsync.

Our own ~80 lines rather than pytest-postgresql: that plugin runs ``initdb`` as the current
user, which PostgreSQL refuses when it is root (CI runs as root); here the server runs as
the ``postgres`` system user that Debian's package creates when we are root.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

WHY_MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
               "`postgresql` package (scripts/install.sh does when run as root)")


BOTH_STORES = pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
"""Run a test on both backends: ``data_dir`` (and ``runtime``) on SQLite files, then on a
fresh PostgreSQL database (the ``store`` fixture)."""


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One running server; ``new_database()`` gives each test its own database."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="vipb-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as `postgres`
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self._names = itertools.count()

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True,
                       timeout=120)

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._run(str(self._bin / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=300 "
                   "-c shared_buffers=64MB")
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server (immediately) and remove its files."""
        try:
            self._run(str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin_url(self, dbname: str = "postgres") -> str:
        """A superuser URL (tests only)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        name = f"vipb_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``new_database`` (its connections are ended first)."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- what an attacker (or an auditor) with database access sees ------------------------------

def store_url() -> str | None:
    """The PostgreSQL store of the test in progress (the ``store`` fixture), if any."""
    return os.environ.get("VIPB_STORE") or None


def raw_connection(root: Path, part: str) -> Any:
    """A plain connection to one part of the store (``events``, ``keys``, ``audit``,
    ``views``), bypassing vipb: the SQLite file, or the part's PostgreSQL schema (statements
    spelled the SQLite way either way)."""
    url = store_url()
    if url:
        from adapters.sql import PgLocation

        return PgLocation.parse(url).connect(part)
    conn = sqlite3.connect(root / f"{part}.sqlite", isolation_level=None)
    return conn


def events_table() -> tuple[str, str]:
    """(the events table, the column holding the notification id) in the store in use."""
    from adapters.store._app import PG_EVENTS_TABLE

    return (PG_EVENTS_TABLE, "notification_id") if store_url() else ("stored_events", "rowid")


def stored_containing(root: Path, needle: bytes) -> list[str]:
    """Where ``needle`` is stored: file names under the data dir and, on PostgreSQL, the
    tables of a ``pg_dump`` of the database that hold it (raw or hex-escaped, as the dump
    writes ``bytea``)."""
    found = sorted(p.name for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())
    url = store_url()
    if url:
        bin_dir = find_bin_dir()
        assert bin_dir is not None
        dump = subprocess.run([str(bin_dir / "pg_dump"), "--data-only", "-d", url],
                              check=True, capture_output=True, timeout=120).stdout
        table = "?"
        for line in dump.splitlines():
            if line.startswith(b"COPY "):
                table = line.split()[1].decode()
            elif needle in line or needle.hex().encode() in line:
                found.append(f"postgresql:{table}")
    return sorted(set(found))
