"""``rotation_events`` (every pick) and ``sticky_sessions`` (current and lapsed bindings)."""

from __future__ import annotations

import json
from typing import ClassVar

from projections.sql import Cursor, upsert
from projections.view import EventRecord, Handler, View

_STICKY_ROW = upsert("sticky_sessions", ("session_key", "proxy_id", "status", "ttl_seconds",
                                         "bound_at", "expired_at"), ("session_key",))


class RotationEventsView(View):
    """Maintains ``rotation_events`` and ``sticky_sessions``."""

    name: ClassVar[str] = "rotation_events"
    tables: ClassVar[tuple[str, ...]] = ("rotation_events", "sticky_sessions")

    def create(self, cur: Cursor) -> None:
        """Create both tables."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS rotation_events (
                notification_id INTEGER PRIMARY KEY,
                occurred_at TEXT NOT NULL,
                proxy_id TEXT NOT NULL,
                strategy TEXT NOT NULL,
                reason TEXT NOT NULL,
                context TEXT NOT NULL
            )"""
        )
        cur.execute(
            """CREATE TABLE IF NOT EXISTS sticky_sessions (
                session_key TEXT PRIMARY KEY,
                proxy_id TEXT NOT NULL,
                status TEXT NOT NULL,
                ttl_seconds REAL NOT NULL,
                bound_at TEXT NOT NULL,
                expired_at TEXT
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """RotationApplied, StickySessionBound, StickySessionExpired."""
        return {"RotationApplied": self._applied, "StickySessionBound": self._bound,
                "StickySessionExpired": self._expired}

    def _applied(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute("INSERT INTO rotation_events VALUES (?,?,?,?,?,?)",
                    (rec.notification_id, rec.timestamp, s["proxy_id"], s["strategy"],
                     s["reason"], json.dumps(s["context"], sort_keys=True)))

    def _bound(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(_STICKY_ROW,
                    (s["key"], s["proxy_id"], "bound", s["ttl_seconds"], rec.timestamp, None))

    def _expired(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE sticky_sessions SET status='expired', expired_at=? "
                    "WHERE session_key=? AND proxy_id=?",
                    (rec.timestamp, rec.state["key"], rec.state["proxy_id"]))
