"""``creators`` (each watched page with its latest check), ``creator_watch_history``
(every check) and ``creator_checks`` (the checks schedules queued, with their claims)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from projections.rank import lease_text
from projections.sql import Connection, Cursor, replace_row, upsert
from projections.view import EventRecord, Handler, View

_CHECK_ROW = upsert("creator_watch_history", (
    "creator_id", "version", "name", "checked_at", "reachable", "reason", "http_status",
    "final_url", "title", "canonical_url", "fingerprint", "changed", "latency_ms", "proxy_id",
    "attempts"), ("creator_id", "version"))


class CreatorsView(View):
    """Maintains ``creators``, ``creator_watch_history`` and ``creator_checks``."""

    name: ClassVar[str] = "creators"
    schema_version: ClassVar[int] = 2  # 2: creator_checks
    tables: ClassVar[tuple[str, ...]] = ("creators", "creator_watch_history",
                                         "creator_checks")

    def create(self, cur: Cursor) -> None:
        """Create both tables."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS creators (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                url TEXT NOT NULL,
                platform TEXT NOT NULL,
                priority INTEGER NOT NULL,
                enabled INTEGER NOT NULL,
                tags TEXT NOT NULL,
                state TEXT NOT NULL,
                checks INTEGER NOT NULL DEFAULT 0,
                last_checked_at TEXT,
                last_reachable INTEGER,
                last_reason TEXT,
                last_http_status INTEGER,
                last_title TEXT,
                last_changed_at TEXT,
                added_at TEXT NOT NULL,
                removed_at TEXT
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS creators_name ON creators (name, state)")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS creator_watch_history (
                creator_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                checked_at TEXT NOT NULL,
                reachable INTEGER NOT NULL,
                reason TEXT,
                http_status INTEGER,
                final_url TEXT,
                title TEXT,
                canonical_url TEXT,
                fingerprint TEXT,
                changed INTEGER NOT NULL,
                latency_ms REAL,
                proxy_id TEXT,
                attempts INTEGER NOT NULL,
                PRIMARY KEY (creator_id, version)
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS creator_history_time ON "
                    "creator_watch_history (creator_id, checked_at)")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS creator_checks (
                id TEXT PRIMARY KEY,
                creator_id TEXT NOT NULL,
                name TEXT NOT NULL,
                origin TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                lease_until TEXT,
                note TEXT,
                queued_at TEXT NOT NULL,
                finished_at TEXT
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS creator_checks_open ON "
                    "creator_checks (state, queued_at)")

    def handlers(self) -> dict[str, Handler]:
        """A creator's life and its checks."""
        return {"CreatorAdded": self._added, "CreatorUpdated": self._updated,
                "CreatorRemoved": self._removed, "CreatorChecked": self._checked,
                "CreatorCheckQueued": self._check_queued,
                "CreatorCheckClaimed": self._check_claimed,
                "CreatorCheckLeaseRenewed": self._check_renewed,
                "CreatorCheckReleased": self._check_released,
                "CreatorCheckStarted": self._check_started,
                "CreatorCheckFinished": self._check_finished}

    def _added(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "creators", ("id",), {
            "id": rec.aggregate, "name": s["name"], "url": s["url"],
            "platform": s["platform"], "priority": s["priority"],
            "enabled": int(s["enabled"]), "tags": json.dumps(s["tags"]), "state": "active",
            "added_at": rec.timestamp})

    def _updated(self, cur: Cursor, rec: EventRecord) -> None:
        changes = dict(rec.state["changes"])
        if "tags" in changes:
            changes["tags"] = json.dumps(changes["tags"])
        if "enabled" in changes:
            changes["enabled"] = int(changes["enabled"])
        columns = [c for c in changes if c in ("url", "platform", "priority", "enabled",
                                               "tags")]
        if columns:
            cur.execute(f"UPDATE creators SET {', '.join(f'{c}=?' for c in columns)} "
                        "WHERE id=?", (*(changes[c] for c in columns), rec.aggregate))

    def _removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creators SET state='removed', removed_at=? WHERE id=?",
                    (rec.timestamp, rec.aggregate))

    def _checked(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        row = cur.execute("SELECT name FROM creators WHERE id=?", (rec.aggregate,)).fetchone()
        cur.execute(_CHECK_ROW,
                    (rec.aggregate, rec.version, row[0] if row else "", rec.timestamp,
                     int(s["reachable"]), s["reason"], s["http_status"], s["final_url"],
                     s["title"], s["canonical_url"], s["fingerprint"], int(s["changed"]),
                     s["latency_ms"], s["proxy_id"], s["attempts"]))
        cur.execute("UPDATE creators SET checks = checks + 1, last_checked_at=?, "
                    "last_reachable=?, last_reason=?, last_http_status=?, last_title=?, "
                    "last_changed_at = CASE WHEN ? = 1 THEN ? ELSE last_changed_at END "
                    "WHERE id=?",
                    (rec.timestamp, int(s["reachable"]), s["reason"], s["http_status"],
                     s["title"], int(s["changed"]), rec.timestamp, rec.aggregate))

    def _check_queued(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "creator_checks", ("id",), {
            "id": rec.aggregate, "creator_id": s["creator_id"], "name": s["name"],
            "origin": s["origin"], "state": "queued", "queued_at": rec.timestamp})

    def _check_claimed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creator_checks SET claimed_by=?, lease_until=? WHERE id=?",
                    (rec.state["host_id"], lease_text(rec.state["lease_until"]),
                     rec.aggregate))

    def _check_renewed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creator_checks SET lease_until=? WHERE id=?",
                    (lease_text(rec.state["lease_until"]), rec.aggregate))

    def _check_released(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creator_checks SET claimed_by=NULL, lease_until=NULL, "
                    "state='queued' WHERE id=?", (rec.aggregate,))

    def _check_started(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creator_checks SET state='running', attempts=? WHERE id=?",
                    (rec.state["attempt"], rec.aggregate))

    def _check_finished(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE creator_checks SET state=?, note=?, finished_at=?, "
                    "claimed_by=NULL, lease_until=NULL WHERE id=?",
                    (rec.state["outcome"], rec.state["note"], rec.timestamp, rec.aggregate))


def creators(conn: Connection, include_removed: bool) -> list[dict[str, Any]]:
    """Watched creators by priority (1 first), then name, with their latest check."""
    where = "" if include_removed else "WHERE state='active'"
    rows = conn.execute(f"SELECT * FROM creators {where} ORDER BY priority, name")
    return [{**dict(r), "enabled": bool(r["enabled"]), "tags": json.loads(r["tags"]),
             "last_reachable": None if r["last_reachable"] is None
             else bool(r["last_reachable"])} for r in rows]


def creator_history(conn: Connection, creator_id: str,
                    limit: int) -> list[dict[str, Any]]:
    """One creator's checks, newest first."""
    rows = conn.execute("SELECT * FROM creator_watch_history WHERE creator_id=? "
                        "ORDER BY checked_at DESC, version DESC LIMIT ?", (creator_id, limit))
    return [{**dict(r), "reachable": bool(r["reachable"]), "changed": bool(r["changed"])}
            for r in rows]


def check_outcomes(conn: Connection) -> dict[str, int]:
    """Creator checks so far by outcome: reachable, or the reason it was not."""
    counts: dict[str, int] = {"reachable": 0}
    for reachable, reason, count in conn.execute(
            "SELECT reachable, reason, count(*) FROM creator_watch_history "
            "GROUP BY reachable, reason"):
        key = "reachable" if reachable else (reason or "unreachable")
        counts[key] = counts.get(key, 0) + count
    return counts


def claimable_checks(conn: Connection, host_id: str, now: str, limit: int) -> list[str]:
    """Unfinished creator checks ``host_id`` may claim at ``now`` (``lease_text``): not
    claimed, claimed by it, or with a lease that has run out; oldest first."""
    rows = conn.execute(
        "SELECT id FROM creator_checks WHERE state IN ('queued', 'running') "
        "AND (claimed_by IS NULL OR claimed_by = ? OR lease_until < ?) "
        "ORDER BY queued_at, id LIMIT ?", (host_id, now, limit)).fetchall()
    return [str(r[0]) for r in rows]


def creators_being_checked(conn: Connection) -> set[str]:
    """Ids of the creators with a check queued or running (on any host)."""
    return {str(r[0]) for r in conn.execute(
        "SELECT DISTINCT creator_id FROM creator_checks WHERE state IN ('queued', 'running')")}


def checks_by_host(conn: Connection) -> dict[str, int]:
    """Creator checks claimed and unfinished, per host."""
    return {str(host): int(count) for host, count in conn.execute(
        "SELECT claimed_by, COUNT(*) FROM creator_checks WHERE claimed_by IS NOT NULL AND "
        "state IN ('queued', 'running') GROUP BY claimed_by")}
