"""``proxy_usage_stats`` (from usage summaries) and ``circuit_breakers`` (breaker states)."""

from __future__ import annotations

from typing import ClassVar

from projections.sql import Cursor, upsert
from projections.view import EventRecord, Handler, View

_BREAKER_ROW = upsert("circuit_breakers", ("target", "state", "reason", "changed_at",
                                           "transitions"), ("target",))


class UsageStatsView(View):
    """Maintains ``proxy_usage_stats``: per proxy, its uses (``requests`` picks, of which
    ``successes`` and ``failures`` ended with an outcome), its health ``checks`` apart, the
    average latency of both and the success rate of its uses. A removed proxy's row goes
    with it (and a summary of it another host writes later is not taken back in)."""

    name: ClassVar[str] = "usage_stats"
    schema_version: ClassVar[int] = 2  # 2: checks apart from uses; removed proxies leave
    tables: ClassVar[tuple[str, ...]] = ("proxy_usage_stats", "proxy_usage_removed")

    def create(self, cur: Cursor) -> None:
        """Create ``proxy_usage_stats`` and the ids of removed proxies."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS proxy_usage_stats (
                proxy_id TEXT PRIMARY KEY,
                requests INTEGER NOT NULL,
                successes INTEGER NOT NULL,
                failures INTEGER NOT NULL,
                checks INTEGER NOT NULL,
                checks_failed INTEGER NOT NULL,
                latency_ms_total REAL NOT NULL,
                latency_samples INTEGER NOT NULL,
                avg_latency_ms REAL,
                success_rate REAL,
                updated_at TEXT NOT NULL
            )"""
        )
        cur.execute("CREATE TABLE IF NOT EXISTS proxy_usage_removed "
                    "(proxy_id TEXT PRIMARY KEY)")

    def handlers(self) -> dict[str, Handler]:
        """ProxyUsageSummarized, ProxyRemoved."""
        return {"ProxyUsageSummarized": self._usage, "ProxyRemoved": self._removed}

    def _removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM proxy_usage_stats WHERE proxy_id=?", (rec.aggregate,))
        cur.execute("INSERT OR IGNORE INTO proxy_usage_removed VALUES (?)", (rec.aggregate,))

    def _usage(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        if cur.execute("SELECT 1 FROM proxy_usage_removed WHERE proxy_id=?",
                       (s["proxy_id"],)).fetchone():
            return
        cur.execute(
            """INSERT INTO proxy_usage_stats VALUES (?,?,?,?,?,?,?,?,NULL,NULL,?)
               ON CONFLICT(proxy_id) DO UPDATE SET
                 requests = proxy_usage_stats.requests + excluded.requests,
                 successes = proxy_usage_stats.successes + excluded.successes,
                 failures = proxy_usage_stats.failures + excluded.failures,
                 checks = proxy_usage_stats.checks + excluded.checks,
                 checks_failed = proxy_usage_stats.checks_failed + excluded.checks_failed,
                 latency_ms_total = proxy_usage_stats.latency_ms_total + excluded.latency_ms_total,
                 latency_samples = proxy_usage_stats.latency_samples + excluded.latency_samples,
                 updated_at = excluded.updated_at""",
            (s["proxy_id"], s["requests"], s["successes"], s["failures"], s.get("checks", 0),
             s.get("checks_failed", 0), s["latency_ms_total"], s["latency_samples"],
             rec.timestamp))
        cur.execute(
            """UPDATE proxy_usage_stats SET
                 avg_latency_ms = CASE WHEN latency_samples > 0
                                  THEN latency_ms_total / latency_samples END,
                 success_rate = CASE WHEN successes + failures > 0
                                THEN 1.0 * successes / (successes + failures) END
               WHERE proxy_id = ?""", (s["proxy_id"],))


class BreakersView(View):
    """Maintains ``circuit_breakers``: the current state of every breaker."""

    name: ClassVar[str] = "breakers"
    tables: ClassVar[tuple[str, ...]] = ("circuit_breakers",)

    def create(self, cur: Cursor) -> None:
        """Create ``circuit_breakers``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS circuit_breakers (
                target TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                reason TEXT NOT NULL,
                changed_at TEXT NOT NULL,
                transitions INTEGER NOT NULL
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """The three transitions (the record's creation carries its target)."""
        return {"CircuitBreakerCreated": self._created, "CircuitOpened": self._set("open"),
                "CircuitHalfOpened": self._set("half_open"), "CircuitClosed": self._set("closed")}

    def _created(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(_BREAKER_ROW, (rec.state["target"], "closed", "created", rec.timestamp, 0))

    def _set(self, state: str) -> Handler:
        def handle(cur: Cursor, rec: EventRecord) -> None:
            cur.execute(
                "UPDATE circuit_breakers SET state=?, reason=?, changed_at=?, "
                "transitions=transitions+1 WHERE target=?",
                (state, rec.state["reason"], rec.timestamp, rec.state["target"]))
        return handle
