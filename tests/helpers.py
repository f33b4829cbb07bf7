"""Test helpers shared by integration and e2e tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain.commands import AddProxy
from domain.parsing import parse_command

VIEW_TABLES = ("proxies", "rotation_config", "activity_logs")
RANK_TABLES = ("target_domains", "keywords", "search_tasks", "position_history", "schedules",
               "execution_logs")


def dump_views(path: Path, tables: tuple[str, ...] = VIEW_TABLES
               ) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every read table, sorted, for equality checks."""
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in tables}
    finally:
        conn.close()


def add_cmd(port: int, user: str | None = None, password: str | None = None,
            host: str = "127.0.0.1", protocol: str = "http") -> AddProxy:
    """An AddProxy for a loopback endpoint."""
    payload: dict[str, object] = {"protocol": protocol, "host": host, "port": port}
    if user:
        payload["username"] = user
    if password:
        payload["password"] = password
    return parse_command(AddProxy, payload)


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Names of files under ``root`` (WAL and journals included) whose bytes contain needle."""
    return sorted(p.name for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())
