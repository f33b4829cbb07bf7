"""The ``proxies`` table: one row per live proxy, never any credential."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import ClassVar
from uuid import UUID

from projections.sql import Cursor, replace_row
from projections.view import EventRecord, Handler, View

# Columns a ProxyUpdated change may touch, mapped to how they are stored.
_UPDATABLE = ("protocol", "host", "port", "label", "country", "region", "weight",
              "max_concurrency", "tags")


@lru_cache(maxsize=256)
def _update_sql(columns: tuple[str, ...]) -> str:
    return f"UPDATE proxies SET {', '.join(f'{c}=?' for c in columns)} WHERE id=?"


class ProxiesView(View):
    """Maintains ``proxies``; status/latency/success_rate are filled by the health engine."""

    name: ClassVar[str] = "proxies"
    tables: ClassVar[tuple[str, ...]] = ("proxies",)
    schema_version: ClassVar[int] = 2  # 2: exit_ip, exit_country (what validations saw)

    def create(self, cur: Cursor) -> None:
        """Create ``proxies``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS proxies (
                id TEXT PRIMARY KEY,
                protocol TEXT NOT NULL,
                host TEXT NOT NULL,
                port INTEGER NOT NULL,
                has_credentials INTEGER NOT NULL,
                label TEXT,
                country TEXT,
                region TEXT,
                weight INTEGER NOT NULL,
                max_concurrency INTEGER NOT NULL,
                tags TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'unknown',
                latency_ms REAL,
                success_rate REAL,
                outcomes_ok INTEGER NOT NULL DEFAULT 0,
                outcomes_failed INTEGER NOT NULL DEFAULT 0,
                exit_ip TEXT,
                exit_country TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """ProxyAdded, ProxyUpdated, ProxyRemoved."""
        return {
            "ProxyAdded": self._added,
            "ProxyUpdated": self._updated,
            "ProxyRemoved": self._removed,
            "ProxyValidated": self._validated,
            "ProxyStatusChanged": self._status,
            "ProxyUsageSummarized": self._usage,
        }

    def _usage(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "UPDATE proxies SET outcomes_ok = outcomes_ok + ?, "
            "outcomes_failed = outcomes_failed + ?, "
            "success_rate = CASE WHEN outcomes_ok + outcomes_failed + ? > 0 THEN "
            "1.0 * (outcomes_ok + ?) / (outcomes_ok + outcomes_failed + ?) END WHERE id=?",
            (s["successes"], s["failures"], s["successes"] + s["failures"], s["successes"],
             s["successes"] + s["failures"], s["proxy_id"]))

    def _validated(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        # an exit country is kept until a validation names another (a check URL that tells
        # none says nothing about it)
        cur.execute("UPDATE proxies SET latency_ms=?, exit_ip=?, "
                    "exit_country=coalesce(?, exit_country), updated_at=? WHERE id=?",
                    (s["latency_ms"], s.get("exit_ip"), s.get("exit_country"), rec.timestamp,
                     s["proxy_id"]))

    def _status(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE proxies SET status=?, updated_at=? WHERE id=?",
                    (rec.state["new"], rec.timestamp, rec.state["proxy_id"]))

    def _added(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "proxies", ("id",), {
            "id": rec.aggregate, "protocol": s["protocol"], "host": s["host"],
            "port": s["port"], "has_credentials": int(s.get("username") is not None),
            "label": s.get("label"), "country": s.get("country"), "region": s.get("region"),
            "weight": s["weight"], "max_concurrency": s["max_concurrency"],
            "tags": json.dumps(s.get("tags") or []), "created_at": rec.timestamp,
            "updated_at": rec.timestamp})

    def _updated(self, cur: Cursor, rec: EventRecord) -> None:
        changes = {k: v for k, v in rec.state["changes"].items() if k in _UPDATABLE}
        if "tags" in changes:
            changes["tags"] = json.dumps(changes["tags"] or [])
        if rec.state.get("credentials_changed"):
            changes["has_credentials"] = int(rec.state.get("username") is not None)
        changes["updated_at"] = rec.timestamp
        cur.execute(_update_sql(tuple(changes)), (*changes.values(), rec.aggregate))

    def _removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM proxies WHERE id=?", (rec.aggregate,))

    def forget(self, cur: Cursor, notification_id: int, aggregate_id: UUID,
               topic: str) -> None:
        """A shredded proxy is gone: drop its row."""
        cur.execute("DELETE FROM proxies WHERE id=?", (str(aggregate_id),))
