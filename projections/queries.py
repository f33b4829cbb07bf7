"""Reads: plain SELECTs on the read-model file, returning row models. Bypasses the write path.

The connection is read-only (``mode=ro``); ``query`` builds its WHERE from parsed
``column OP value`` filters on known columns only, so no user text becomes SQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from domain.errors import ValidationError
from domain.results import ProxyRow
from projections.sql import Connection, Row, columns_of

# every table the views keep (none holds a secret: see each view), and the bookkeeping
READ_TABLES = ("proxies", "rotation_config", "activity_logs", "rotation_events",
               "sticky_sessions", "proxy_usage_stats", "proxy_usage_removed", "circuit_breakers",
               "tabs",
               "privacy_profiles", "sessions", "target_domains", "keywords", "search_tasks",
               "position_history", "schedules", "execution_logs", "creators",
               "creator_watch_history", "creator_checks", "alert_rules", "alerts",
               "alert_outbox", "alert_series", "alert_searches", "alert_creators",
               "alert_schedules", "alert_runs", "alert_run_rows",
               "projection_tracking")
_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "~": "LIKE"}
_FILTER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|=|<|>|~)\s*(.*?)\s*$")


class RotationRow(BaseModel):
    """The row of ``rotation_config``."""

    strategy: str
    params: dict[str, Any]
    updated_at: str


def connect_read_only(path: Path) -> Connection:
    """Open the read models for reading only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


_SQLITE_HEADER = b"SQLite format 3\x00"


def connect_view_file(path: Path) -> Connection:
    """Open another read-model file (one `vipb events replay` wrote) for reading only, after
    checking that it is an SQLite database at all."""
    try:
        with open(path, "rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise ValidationError(f"{path} is not a readable file ({exc.strerror or exc})",
                              field="db") from None
    if header != _SQLITE_HEADER:
        raise ValidationError(f"{path} is not an SQLite database", field="db")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ValidationError(f"{path} cannot be read as a database ({exc})",
                              field="db") from None
    return conn


def _proxy(row: Row) -> ProxyRow:
    data = dict(row)
    data["tags"] = json.loads(data["tags"])
    return ProxyRow.model_validate(data)


def list_proxies(
    conn: Connection,
    *,
    protocol: str | None = None,
    status: str | None = None,
    country: str | None = None,
    tag: str | None = None,
    limit: int = 1000,
) -> list[ProxyRow]:
    """Proxies ordered by creation, optionally filtered (``tag``: those carrying it)."""
    clauses, params = [], []
    for column, value in (("protocol", protocol), ("status", status), ("country", country)):
        if value is not None:
            clauses.append(f"{column}=?")
            params.append(value)
    if tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(proxies.tags) WHERE value=?)")
        params.append(tag)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT * FROM proxies {where} ORDER BY created_at, id LIMIT ?", (*params, limit)
    )
    return [_proxy(r) for r in rows]


ID_TABLES = {"proxies": "proxies", "tabs": "tabs", "search_tasks": "search tasks"}


def find_id(conn: Connection, table: str, ref: str) -> str | None:
    """The full id in ``table`` (one of ``ID_TABLES``) that ``ref`` is, or is a unique
    prefix of (any length, dashes optional); None when nothing matches. Several matches
    are a ``ValidationError`` asking for more characters."""
    if table not in ID_TABLES:
        raise ValueError(f"no ids to resolve in {table!r}")
    key = ref.strip().lower().replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{1,32}", key):
        return None
    rows = conn.execute(  # table is one of ID_TABLES, never user input
        f"SELECT id FROM {table} WHERE replace(id, '-', '') LIKE ? LIMIT 2", (key + "%",)
    ).fetchall()
    if len(rows) > 1:
        raise ValidationError(f"{ref!r} matches several {ID_TABLES[table]}; give more "
                              "characters", field="id")
    return str(rows[0][0]) if rows else None


def find_proxy(conn: Connection, ref: str) -> ProxyRow | None:
    """A proxy by full id or unique id prefix."""
    found = find_id(conn, "proxies", ref)
    if found is None:
        return None
    row = conn.execute("SELECT * FROM proxies WHERE id = ?", (found,)).fetchone()
    return _proxy(row) if row is not None else None


def exit_countries(conn: Connection) -> dict[str, str]:
    """Where validations saw each proxy leave from (proxies whose check URL told)."""
    return {str(r[0]): str(r[1]) for r in conn.execute(
        "SELECT id, exit_country FROM proxies WHERE exit_country IS NOT NULL")}


class ProfileRow(BaseModel):
    """A row of ``privacy_profiles``."""

    id: str
    name: str
    platform: str
    user_agent: str
    screen: str
    webgl_renderer: str
    faults: str  # what no single real Chrome presents ("; "-separated; "" when nothing)
    locale: str
    timezone: str
    follow_proxy_country: bool
    webrtc: str
    tracker_blocking: bool
    created_at: str
    updated_at: str


def list_profiles(conn: Connection) -> list[ProfileRow]:
    """Privacy profiles by name."""
    rows = conn.execute("SELECT * FROM privacy_profiles ORDER BY name")
    return [ProfileRow.model_validate(dict(r)) for r in rows]


def rotation(conn: Connection) -> RotationRow | None:
    """The current rotation config, or None before the first ``rotation set``."""
    row = conn.execute("SELECT strategy, params, updated_at FROM rotation_config").fetchone()
    if row is None:
        return None
    return RotationRow(strategy=row[0], params=json.loads(row[1]), updated_at=row[2])


def parse_filter(text: str, columns: list[str]) -> tuple[str, str, str]:
    """``"port>=8000"`` -> (column, SQL operator, value); column must exist."""
    match = _FILTER.match(text)
    if not match:
        raise ValidationError(f"{text!r} is not COLUMN OP VALUE (OP: = != < <= > >= ~)",
                              field="where")
    column, op, value = match.groups()
    if column not in columns:
        raise ValidationError(f"unknown column {column!r} (columns: {', '.join(columns)})",
                              field="where")
    return column, _OPS[op], value


def table_columns(conn: Connection, table: str) -> list[str]:
    """Column names of a read table (validated against the allowed list)."""
    if table not in READ_TABLES:
        raise ValidationError(f"unknown table {table!r} (tables: {', '.join(READ_TABLES)})",
                              field="table")
    try:
        return columns_of(conn.cursor(), table)
    except Exception:  # sqlite3.OperationalError, psycopg's UndefinedTable: not there
        raise ValidationError(f"this database has no table {table!r}",
                              field="table") from None


def query(
    conn: Connection, table: str, filters: list[str], limit: int = 100
) -> list[dict[str, Any]]:
    """Rows of a read table matching every filter, in storage order."""
    columns = table_columns(conn, table)
    clauses, params = [], []
    for text in filters:
        column, op, value = parse_filter(text, columns)
        clauses.append(f"{column} {op} ?")
        params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(f"SELECT * FROM {table} {where} LIMIT ?", (*params, limit))
    return [dict(r) for r in rows]


def pool_summary(conn: Connection) -> tuple[dict[str, int], int]:
    """(proxies by status, open tabs): what `vipb status` reports, host or not."""
    by_status = {str(status): int(count) for status, count in conn.execute(
        "SELECT status, COUNT(*) FROM proxies GROUP BY status")}
    open_tabs = int(conn.execute("SELECT COUNT(*) FROM tabs WHERE state='open'").fetchone()[0])
    return by_status, open_tabs

