"""Alert read tables: ``alert_rules``, ``alerts`` (every alert raised and its delivery), and
the alert to-do list ``alert_outbox``.

The view evaluates the rules as it follows the log, so what fires is decided by the events
alone, in their order: a rule sees only outcomes recorded after it was added, each domain's
position is compared with the previous outcome of the same search (keyword, engine, country,
location, language, device) and a creator's check with its previous check. A position a
re-read of the stored pages revised (``PositionRevised``) fires nothing (it is history, not
news); the alert it raised is listed with the revised position beside it.
``alert_series``, ``alert_searches`` and ``alert_creators`` are that memory (a series keeps
its last few positions for the digests' sparklines). A digest rule fires when the last search
of a run of its schedule is over (``alert_schedules`` and ``projections.alert_digests``
remember the runs). A rule firing adds an ``alert_outbox`` row with the alert's
deterministic id; the alerts actor turns it into an ``AlertTriggered`` event, which removes
the row here. A rebuild computes the same rows with the same ids, and the events already
recorded remove them again: nothing fires twice, nothing is lost.

No secret reaches these tables: a rule's target is shown as scheme and host only.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from uuid import UUID

from domain.alert import (
    CREATOR_KINDS,
    DIGEST_KINDS,
    POSITION_KINDS,
    alert_id,
    creator_fires,
    creator_message,
    position_fires,
    position_message,
)
from domain.keyword_names import fold_keyword, search_label
from projections import alert_digests as digests
from projections.sql import Connection, Cursor, Row, replace_row, upsert
from projections.view import EventRecord, Handler, View, iso


class AlertsView(View):
    """Rules, alerts, the outbox, and the memory the rules are evaluated against."""

    name: ClassVar[str] = "alerts"
    tables: ClassVar[tuple[str, ...]] = ("alert_rules", "alerts", "alert_outbox",
                                         "alert_series", "alert_searches", "alert_creators",
                                         "alert_schedules", *digests.TABLES)
    # 2: alerts.task_id/domain; places in the memory. 3: recent positions, schedule runs
    schema_version: ClassVar[int] = 3

    def create(self, cur: Cursor) -> None:
        """Create the tables."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_rules (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                threshold INTEGER,
                filters TEXT NOT NULL,
                channel TEXT NOT NULL,
                target TEXT NOT NULL,
                state TEXT NOT NULL,
                added_at TEXT NOT NULL,
                removed_at TEXT
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alerts (
                id TEXT PRIMARY KEY,
                rule_id TEXT NOT NULL,
                rule TEXT NOT NULL,
                kind TEXT NOT NULL,
                channel TEXT NOT NULL,
                message TEXT NOT NULL,
                subject TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                retry_in REAL,
                triggered_at TEXT NOT NULL,
                delivered_at TEXT,
                task_id TEXT,
                domain TEXT
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id, triggered_at)")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_outbox (
                id TEXT PRIMARY KEY,
                rule_id TEXT NOT NULL,
                rule TEXT NOT NULL,
                kind TEXT NOT NULL,
                channel TEXT NOT NULL,
                subject TEXT NOT NULL,
                message TEXT NOT NULL,
                source_position INTEGER NOT NULL
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_series (
                keyword TEXT NOT NULL,
                engine TEXT NOT NULL,
                country TEXT NOT NULL,
                device TEXT NOT NULL,
                domain TEXT NOT NULL,
                position INTEGER,
                recent TEXT NOT NULL DEFAULT '[]',
                PRIMARY KEY (keyword, engine, country, device, domain)
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_schedules (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL
            )""")
        digests.create(cur)
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_searches (
                id TEXT PRIMARY KEY,
                keyword TEXT NOT NULL,
                engine TEXT NOT NULL,
                country TEXT NOT NULL,
                device TEXT NOT NULL
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS alert_creators (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                url TEXT NOT NULL,
                reachable INTEGER
            )""")

    def handlers(self) -> dict[str, Handler]:
        """Rules, alerts, and the search and creator events rules watch."""
        return {
            "AlertRuleAdded": self._rule_added,
            "AlertRuleRemoved": self._rule_removed,
            "AlertTriggered": self._triggered,
            "AlertDelivered": self._delivered,
            "AlertDeliveryFailed": self._failed,
            "SearchTaskQueued": self._queued,
            "PositionRecorded": self._outcome,
            "DomainNotRanked": self._outcome,
            "SearchTaskCompleted": self._search_over,
            "SearchTaskCancelled": self._search_over,
            "SearchTaskFailed": self._search_failed,
            "CreatorAdded": self._creator_added,
            "CreatorUpdated": self._creator_updated,
            "CreatorRemoved": self._creator_removed,
            "CreatorChecked": self._creator_checked,
            "ScheduleCreated": self._schedule_created,
            "ScheduleTriggered": self._schedule_ran,
            "ScheduleRunOnRequest": self._schedule_ran,
        }

    # --- rules and alerts ------------------------------------------------------------------------

    def _rule_added(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "alert_rules", ("id",), {
            "id": rec.aggregate, "name": s["name"], "kind": s["kind"],
            "threshold": s["threshold"], "filters": json.dumps(s["filters"], sort_keys=True),
            "channel": s["channel"], "target": s["shown_target"], "state": "active",
            "added_at": rec.timestamp})

    def _rule_removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE alert_rules SET state='removed', removed_at=? WHERE id=?",
                    (rec.timestamp, rec.aggregate))
        cur.execute("DELETE FROM alert_outbox WHERE rule_id=?", (rec.aggregate,))

    def forget(self, cur: Cursor, notification_id: int, aggregate_id: UUID,
               topic: str) -> None:
        """A removed rule's added event is unreadable: nothing of it to keep."""
        cur.execute("DELETE FROM alert_outbox WHERE rule_id=?", (str(aggregate_id),))

    def _triggered(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute("DELETE FROM alert_outbox WHERE id=?", (rec.aggregate,))
        subject = s["subject"] if isinstance(s["subject"], dict) else {}
        replace_row(cur, "alerts", ("id",), {
            "id": rec.aggregate, "rule_id": s["rule_id"], "rule": s["rule"],
            "kind": s["kind"], "channel": s["channel"], "message": s["message"],
            "subject": json.dumps(s["subject"], sort_keys=True, default=str),
            "state": "pending", "triggered_at": rec.timestamp,
            "task_id": subject.get("task_id"), "domain": subject.get("domain")})

    def _delivered(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE alerts SET state='delivered', attempts=?, retry_in=NULL, "
                    "delivered_at=? WHERE id=?",
                    (rec.state["attempt"], rec.timestamp, rec.aggregate))

    def _failed(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute("UPDATE alerts SET state=?, attempts=?, last_error=?, retry_in=? "
                    "WHERE id=?", ("failed" if s["retry_in"] is None else "retrying",
                                   s["attempt"], s["error"], s["retry_in"], rec.aggregate))

    def _active_rules(self, cur: Cursor, kinds: frozenset[str]) -> list[Row]:
        marks = ",".join("?" * len(kinds))
        rows: list[Any] = cur.execute(
            f"SELECT id, name, kind, threshold, filters, channel FROM alert_rules "
            f"WHERE state='active' AND kind IN ({marks})", sorted(kinds)).fetchall()
        return rows

    def _fire(self, cur: Cursor, rule: Any, source: str, subject: dict[str, Any],
              message: str, rec: EventRecord) -> None:
        cur.execute(
            "INSERT OR IGNORE INTO alert_outbox (id, rule_id, rule, kind, channel, subject, "
            "message, source_position) VALUES (?,?,?,?,?,?,?,?)",
            (str(alert_id(rule[0], source)), rule[0], rule[1], rule[2], rule[5],
             json.dumps(subject, sort_keys=True), message, rec.notification_id))

    # --- positions -------------------------------------------------------------------------------

    def _queued(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        # the "country" of the memory is the whole place: a search near Berlin is not
        # compared with one near Munich (searches without a location keep the bare country)
        place = s["country"] or ""
        if s.get("location") or s.get("language"):
            place = f"{place}|{s.get('location') or ''}|{s.get('language') or ''}"
        cur.execute(upsert("alert_searches", ("id", "keyword", "engine", "country", "device"),
                           ("id",)),
                    (rec.aggregate, fold_keyword(s["keyword"]), s["engine"], place,
                     s.get("device") or "desktop"))

    def _search_over(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM alert_searches WHERE id=?", (rec.aggregate,))
        finished = digests.finish(cur, rec.aggregate, rec.name)
        if finished is None:
            return
        for rule in self._active_rules(cur, DIGEST_KINDS):  # the run's last search is over
            filters = json.loads(rule[4])
            if (filters.get("schedule") or "").casefold() != finished.schedule.casefold():
                continue
            rows = [r for r in finished.rows
                    if _matches(filters, r["domain"], r["keyword"], r["engine"], r["device"])]
            if not rows and not finished.failed:
                continue  # nothing this rule watches was searched: no empty message
            subject, message = digests.digest(finished, rows)
            self._fire(cur, rule, finished.run, subject, message, rec)

    # --- schedule runs, for digests --------------------------------------------------------------

    def _schedule_created(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(upsert("alert_schedules", ("id", "name"), ("id",)),
                    (rec.aggregate, rec.state["name"]))

    def _schedule_ran(self, cur: Cursor, rec: EventRecord) -> None:
        row = cur.execute("SELECT name FROM alert_schedules WHERE id=?",
                          (rec.aggregate,)).fetchone()
        if row is not None:
            s = rec.state
            when = iso(s.get("scheduled_for") or s.get("at")) or rec.timestamp
            digests.start(cur, f"{rec.aggregate}/{rec.version}", row[0], str(when),
                          [str(t) for t in s.get("task_ids") or []])

    def _search_failed(self, cur: Cursor, rec: EventRecord) -> None:
        if rec.state["retry_in"] is None:  # failed for good: no outcome will follow
            self._search_over(cur, rec)

    def _outcome(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        search = cur.execute("SELECT keyword, engine, country, device FROM alert_searches "
                             "WHERE id=?", (rec.aggregate,)).fetchone()
        if search is None:  # queued before this view knew searches: no memory to compare
            return
        keyword, engine, place, device = search
        country, _, rest = place.partition("|")
        location = rest.partition("|")[0] or None
        key = (keyword, engine, place, device, s["domain"])
        after = s.get("position") if rec.name == "PositionRecorded" else None
        before_row = cur.execute(
            "SELECT position, recent FROM alert_series WHERE keyword=? AND engine=? "
            "AND country=? AND device=? AND domain=?", key).fetchone()
        recent = digests.recent_positions(before_row[1] if before_row else None,
                                          rec.timestamp, after)
        cur.execute(upsert("alert_series", ("keyword", "engine", "country", "device", "domain",
                                            "position", "recent"),
                           ("keyword", "engine", "country", "device", "domain")),
                    (*key, after, recent))
        digests.keep(cur, rec.aggregate, key, before_row[0] if before_row else None,
                     before_row is not None, after, recent)
        if before_row is None:
            return  # the first outcome of this search for this domain: nothing to compare
        before = before_row[0]
        for rule in self._active_rules(cur, POSITION_KINDS):
            filters = json.loads(rule[4])
            if not _matches(filters, s["domain"], keyword, engine, device):
                continue
            if not position_fires(rule[2], rule[3], before, after):
                continue
            subject = {"domain": s["domain"], "keyword": keyword, "engine": engine,
                       "country": country or None, "device": device, "before": before,
                       "after": after, "results_scanned": s["results_scanned"],
                       "task_id": rec.aggregate}
            if location:
                subject["location"] = location
            if s.get("exit_country") and s.get("exit_country") != (country or None):
                subject["exit_country"] = s["exit_country"]
            message = position_message(rule[2], rule[3], s["domain"],
                                       search_label(keyword, engine, country or None, device,
                                                    quote=True, location=location), before,
                                       after, s["results_scanned"])
            self._fire(cur, rule, f"{rec.aggregate}/{rec.version}", subject, message, rec)

    # --- creators --------------------------------------------------------------------------------

    def _creator_added(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(upsert("alert_creators", ("id", "name", "url", "reachable"), ("id",)),
                    (rec.aggregate, rec.state["name"], rec.state["url"], None))

    def _creator_updated(self, cur: Cursor, rec: EventRecord) -> None:
        url = rec.state["changes"].get("url")
        if url is not None:
            cur.execute("UPDATE alert_creators SET url=? WHERE id=?", (url, rec.aggregate))

    def _creator_removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM alert_creators WHERE id=?", (rec.aggregate,))

    def _creator_checked(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        row = cur.execute("SELECT name, url, reachable FROM alert_creators WHERE id=?",
                          (rec.aggregate,)).fetchone()
        if row is None:
            return
        name, url, was = row[0], row[1], (None if row[2] is None else bool(row[2]))
        cur.execute("UPDATE alert_creators SET reachable=? WHERE id=?",
                    (int(s["reachable"]), rec.aggregate))
        for rule in self._active_rules(cur, CREATOR_KINDS):
            wanted = json.loads(rule[4]).get("creator")
            if wanted is not None and wanted.casefold() != name.casefold():
                continue
            if not creator_fires(rule[2], was, s["reachable"], s["changed"]):
                continue
            subject = {"creator": name, "url": url, "reachable": s["reachable"],
                       "reason": s["reason"], "http_status": s["http_status"],
                       "final_url": s["final_url"], "title": s["title"],
                       "changed": s["changed"]}
            message = creator_message(rule[2], name, s["reason"], s["http_status"])
            self._fire(cur, rule, f"{rec.aggregate}/{rec.version}", subject, message, rec)


def _matches(filters: dict[str, str | None], domain: str, keyword: str, engine: str,
             device: str) -> bool:
    """Does an outcome fall under a rule's filters (None: any)?"""
    wanted_keyword = filters.get("keyword")
    return ((filters.get("domain") in (None, domain))
            and (wanted_keyword is None or fold_keyword(wanted_keyword) == keyword)
            and (filters.get("engine") in (None, engine))
            and (filters.get("device") in (None, device)))


def alert_rules(conn: Connection, include_removed: bool) -> list[dict[str, Any]]:
    """The rules by name, with how many alerts each raised and delivered."""
    where = "" if include_removed else "WHERE r.state='active'"
    rows = conn.execute(
        "SELECT r.*, (SELECT count(*) FROM alerts a WHERE a.rule_id = r.id) AS alerts, "
        "(SELECT count(*) FROM alerts a WHERE a.rule_id = r.id AND a.state='delivered') "
        f"AS delivered FROM alert_rules r {where} ORDER BY lower(r.name), r.name")
    return [{**dict(r), "filters": {k: v for k, v in json.loads(r["filters"]).items()
                                    if v is not None}} for r in rows]


def alert_history(conn: Connection, rule_id: str | None,
                  limit: int) -> list[dict[str, Any]]:
    """Alerts raised (of one rule, or all), newest first."""
    where, args = ("WHERE a.rule_id=?", [rule_id]) if rule_id else ("", [])
    # the position that raised it, as the history shows it now: revised by a re-read?
    rows = conn.execute(
        f"SELECT a.*, p.revised AS revised, p.position AS revised_position FROM alerts a "
        f"LEFT JOIN position_history p ON p.task_id = a.task_id AND p.domain = a.domain "
        f"{where} ORDER BY a.triggered_at DESC, a.id LIMIT ?", [*args, limit])
    return [{**{k: v for k, v in dict(r).items() if k != "revised_position"},
             "subject": json.loads(r["subject"]), "revised": bool(r["revised"]),
             **({"revised_position": r["revised_position"]} if r["revised"] else {})}
            for r in rows]


def alert_outbox(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Alerts the rules raised that are not on record yet, oldest first."""
    rows = conn.execute("SELECT * FROM alert_outbox ORDER BY source_position, id LIMIT ?",
                        (limit,))
    return [{**dict(r), "subject": json.loads(r["subject"])} for r in rows]


def rule_id_of(conn: Connection, name: str) -> str | None:
    """The id of the rule named ``name`` (any case), active first, else the latest."""
    row = conn.execute("SELECT id FROM alert_rules WHERE lower(name) = lower(?) "
                       "ORDER BY state='active' DESC, added_at DESC LIMIT 1", (name,)).fetchone()
    return None if row is None else str(row[0])


def alert_states(conn: Connection) -> dict[str, int]:
    """Alerts by delivery state (pending, retrying, delivered, failed), each present."""
    counts = dict.fromkeys(("pending", "retrying", "delivered", "failed"), 0)
    for state, count in conn.execute("SELECT state, count(*) FROM alerts GROUP BY state"):
        counts[state] = count
    return counts
