"""PostgreSQL for the tests: the session's throwaway server (``scripts.pg_throwaway``), the
``BOTH_STORES`` parametrization, and what an attacker with database access sees."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scripts.pg_throwaway import WHY_MISSING, PgCluster, find_bin_dir

__all__ = ["BOTH_STORES", "WHY_MISSING", "PgCluster", "find_bin_dir"]

BOTH_STORES = pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
"""Run a test on both backends: ``data_dir`` (and ``runtime``) on SQLite files, then on a
fresh PostgreSQL database (the ``store`` fixture)."""


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
