"""Read tables of rank tracking: ``target_domains``, ``keywords``, ``search_tasks``,
``position_history``; and of scheduling: ``schedules``, ``execution_logs``.

``position_history`` has a row per target domain per completed search: ``position`` is the
1-based organic rank (with the ``url`` and ``title`` that ranked), or NULL with ``ranked = 0``
when the domain was not among the ``results_scanned`` results (0 when the engine's "no
results" was confirmed by a second search). A failed search writes no position rows (its
task row says why). ``search_tasks.features`` holds the SERP features of the first results
page as JSON (feature -> count). Rows are per device (desktop, mobile), country, location
and language, and say where the search left from (``exit_country``, ``proxy_id``). A
re-read of stored pages that changed an answer (``PositionRevised``) shows the revised
position with ``revised = 1`` and the first answer in ``original_position``/``original_url``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from domain import cron
from projections.sql import Cursor, replace_row, upsert
from projections.view import EventRecord, Handler, View, iso


def lease_text(value: datetime) -> str:
    """A lease's end as stored (and compared as text): UTC, always with microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


_EXECUTION_ROW = upsert("execution_logs", (
    "notification_id", "schedule_id", "schedule_name", "scheduled_for", "triggered_at", "missed",
    "tasks", "task_ids", "note", "on_request", "creators"), ("notification_id",))


class RankTrackingView(View):
    """Targets, tasks and the position history."""

    name: ClassVar[str] = "rank_tracking"
    tables: ClassVar[tuple[str, ...]] = ("target_domains", "keywords", "search_tasks",
                                         "position_history")
    # 2: search_tasks.reason; 3: devices, titles, features; 4: claims (several hosts);
    # 5: places (location, language, exits), evidence, revisions; 6: how pages are fetched
    schema_version: ClassVar[int] = 6

    def create(self, cur: Cursor) -> None:
        """Create the four tables."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS target_domains (
                domain TEXT PRIMARY KEY,
                include_subdomains INTEGER NOT NULL,
                state TEXT NOT NULL,
                last_position INTEGER,
                last_keyword TEXT,
                last_checked_at TEXT,
                added_at TEXT NOT NULL,
                removed_at TEXT
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS keywords (
                key TEXT PRIMARY KEY,
                keyword TEXT NOT NULL,
                engine TEXT NOT NULL,
                country TEXT,
                device TEXT NOT NULL DEFAULT 'desktop',
                location TEXT,
                language TEXT,
                any_exit_country INTEGER NOT NULL DEFAULT 0,
                depth INTEGER NOT NULL,
                state TEXT NOT NULL,
                added_at TEXT NOT NULL,
                removed_at TEXT
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS search_tasks (
                id TEXT PRIMARY KEY,
                keyword TEXT NOT NULL,
                engine TEXT NOT NULL,
                country TEXT,
                device TEXT NOT NULL DEFAULT 'desktop',
                location TEXT,
                language TEXT,
                any_exit_country INTEGER NOT NULL DEFAULT 0,
                depth INTEGER NOT NULL,
                domains TEXT NOT NULL,
                origin TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                proxy_id TEXT,
                tab_id TEXT,
                fetched_by TEXT,
                exit_country TEXT,
                exit_basis TEXT,
                results_scanned INTEGER,
                pages INTEGER,
                ranked INTEGER,
                features TEXT,
                layout TEXT,
                no_results INTEGER,
                evidence TEXT,
                definition TEXT,
                notices TEXT,
                error TEXT,
                reason TEXT,
                retry_in REAL,
                queued_at TEXT NOT NULL,
                started_at TEXT,
                finished_at TEXT,
                claimed_by TEXT,
                lease_until TEXT
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS search_tasks_state ON search_tasks (state)")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS position_history (
                task_id TEXT NOT NULL,
                domain TEXT NOT NULL,
                keyword TEXT NOT NULL,
                engine TEXT NOT NULL,
                country TEXT,
                device TEXT NOT NULL DEFAULT 'desktop',
                location TEXT,
                language TEXT,
                exit_country TEXT,
                proxy_id TEXT,
                position INTEGER,
                ranked INTEGER NOT NULL,
                url TEXT,
                title TEXT,
                results_scanned INTEGER NOT NULL,
                recorded_at TEXT NOT NULL,
                revised INTEGER NOT NULL DEFAULT 0,
                original_position INTEGER,
                original_url TEXT,
                revised_at TEXT,
                definition TEXT,
                PRIMARY KEY (task_id, domain)
            )""")
        cur.execute("CREATE INDEX IF NOT EXISTS position_history_domain "
                    "ON position_history (domain, keyword, recorded_at)")

    def handlers(self) -> dict[str, Handler]:
        """Targets and SearchTask events."""
        return {
            "TargetDomainAdded": self._domain_added,
            "TargetDomainRemoved": self._domain_removed,
            "KeywordAdded": self._keyword_added,
            "KeywordRemoved": self._keyword_removed,
            "SearchTaskQueued": self._queued,
            "SearchTaskStarted": self._started,
            "SearchTaskFailed": self._failed,
            "PositionRecorded": self._position,
            "DomainNotRanked": self._not_ranked,
            "SearchTaskCompleted": self._completed,
            "SearchTaskCancelled": self._cancelled,
            "SearchTaskClaimed": self._claimed,
            "SearchTaskLeaseRenewed": self._renewed,
            "SearchTaskReleased": self._released,
            "PositionRevised": self._revised,
        }

    def _claimed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE search_tasks SET claimed_by=?, lease_until=? WHERE id=?",
                    (rec.state["host_id"], lease_text(rec.state["lease_until"]), rec.aggregate))

    def _renewed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE search_tasks SET lease_until=? WHERE id=?",
                    (lease_text(rec.state["lease_until"]), rec.aggregate))

    def _released(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE search_tasks SET claimed_by=NULL, lease_until=NULL WHERE id=?",
                    (rec.aggregate,))

    def _domain_added(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "INSERT INTO target_domains (domain, include_subdomains, state, added_at) "
            "VALUES (?,?,'active',?) ON CONFLICT (domain) DO UPDATE SET "
            "include_subdomains=excluded.include_subdomains, state='active', removed_at=NULL",
            (s["domain"], int(s["include_subdomains"]), rec.timestamp))

    def _domain_removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE target_domains SET state='removed', removed_at=? WHERE domain=?",
                    (rec.timestamp, rec.state["domain"]))

    def _keyword_added(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "INSERT INTO keywords (key, keyword, engine, country, device, location, language, "
            "any_exit_country, depth, state, added_at) VALUES (?,?,?,?,?,?,?,?,?,'active',?) "
            "ON CONFLICT (key) DO UPDATE SET depth=excluded.depth, "
            "any_exit_country=excluded.any_exit_country, state='active', removed_at=NULL",
            (s["key"], s["keyword"], s["engine"], s["country"], s.get("device") or "desktop",
             s.get("location"), s.get("language"), int(bool(s.get("any_exit_country"))),
             s["depth"], rec.timestamp))

    def _keyword_removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE keywords SET state='removed', removed_at=? WHERE key=?",
                    (rec.timestamp, rec.state["key"]))

    def _queued(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "search_tasks", ("id",), {
            "id": rec.aggregate, "keyword": s["keyword"], "engine": s["engine"],
            "country": s["country"], "device": s.get("device") or "desktop",
            "location": s.get("location"), "language": s.get("language"),
            "any_exit_country": int(bool(s.get("any_exit_country"))),
            "depth": s["depth"], "domains": json.dumps(sorted(s["domains"])),
            "origin": s["origin"], "state": "queued", "queued_at": rec.timestamp})

    def _started(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "UPDATE search_tasks SET state='running', attempts=?, proxy_id=?, tab_id=?, "
            "fetched_by=?, exit_country=?, exit_basis=?, started_at=coalesce(started_at, ?), "
            "retry_in=NULL WHERE id=?",
            (s["attempt"], s["proxy_id"], s["tab_id"] or None, s.get("fetch", "browser"),
             s.get("exit_country"), s.get("exit_basis"), rec.timestamp, rec.aggregate))

    def _failed(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        final = s["retry_in"] is None
        pages = s.get("evidence") or []
        cur.execute(
            "UPDATE search_tasks SET state=?, error=?, reason=?, retry_in=?, finished_at=?, "
            "evidence=coalesce(?, evidence) WHERE id=?",
            ("failed" if final else "retrying", s["error"], s["reason"], s["retry_in"],
             rec.timestamp if final else None, json.dumps(pages) if pages else None,
             rec.aggregate))

    def _task_row(self, cur: Cursor, task_id: str) -> tuple[Any, ...]:
        row = cur.execute("SELECT keyword, engine, country, device, location, language "
                          "FROM search_tasks WHERE id=?", (task_id,)).fetchone()
        return tuple(row) if row else ("?", "?", None, "desktop", None, None)

    def _record(self, cur: Cursor, rec: EventRecord, position: int | None,
                url: str | None, title: str | None) -> None:
        s = rec.state
        keyword, engine, country, device, location, language = self._task_row(
            cur, rec.aggregate)
        cur.execute(
            upsert("position_history", ("task_id", "domain", "keyword", "engine", "country",
                                        "device", "location", "language", "exit_country",
                                        "proxy_id", "position", "ranked", "url", "title",
                                        "results_scanned", "recorded_at"),
                   ("task_id", "domain")),
            (rec.aggregate, s["domain"], keyword, engine, country, device, location,
             language, s.get("exit_country"), s.get("proxy_id"), position,
             int(position is not None), url, title, s["results_scanned"], rec.timestamp))
        cur.execute("UPDATE target_domains SET last_position=?, last_keyword=?, "
                    "last_checked_at=? WHERE domain=?",
                    (position, keyword, rec.timestamp, s["domain"]))

    def _position(self, cur: Cursor, rec: EventRecord) -> None:
        self._record(cur, rec, rec.state["position"], rec.state["url"],
                     rec.state.get("title") or None)

    def _not_ranked(self, cur: Cursor, rec: EventRecord) -> None:
        self._record(cur, rec, None, None, None)

    def _completed(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "UPDATE search_tasks SET state='completed', results_scanned=?, pages=?, ranked=?, "
            "features=?, layout=?, no_results=?, evidence=?, definition=?, notices=?, "
            "error=NULL, reason=NULL, retry_in=NULL, finished_at=? WHERE id=?",
            (s["results_scanned"], s["pages"], s["ranked"],
             json.dumps(s.get("features") or {}, sort_keys=True), s.get("layout") or None,
             int(bool(s.get("no_results"))), json.dumps(s.get("evidence") or []),
             s.get("definition") or None, json.dumps(s.get("notices") or []),
             rec.timestamp, rec.aggregate))

    def _revised(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        new = s["new_position"]
        cur.execute(
            "UPDATE position_history SET original_position=CASE WHEN revised=0 THEN position "
            "ELSE original_position END, original_url=CASE WHEN revised=0 THEN url ELSE "
            "original_url END, position=?, ranked=?, url=?, title=?, results_scanned=?, "
            "revised=1, revised_at=?, definition=? WHERE task_id=? AND domain=?",
            (new, int(new is not None), s["new_url"], s.get("title") or None,
             s["results_scanned"], rec.timestamp, s["definition"], rec.aggregate,
             s["domain"]))
        cur.execute("UPDATE search_tasks SET definition=? WHERE id=?",
                    (s["definition"], rec.aggregate))
        cur.execute("UPDATE target_domains SET last_position=? WHERE domain=? AND "
                    "last_checked_at=(SELECT recorded_at FROM position_history WHERE "
                    "task_id=? AND domain=?)", (new, s["domain"], rec.aggregate, s["domain"]))

    def _cancelled(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE search_tasks SET state='cancelled', error=?, finished_at=? "
                    "WHERE id=?", (rec.state["reason"], rec.timestamp, rec.aggregate))


class SchedulesView(View):
    """Schedules and one execution log row per trigger."""

    name: ClassVar[str] = "schedules"
    # 2: execution_logs.on_request; 3: schedules.searches/creators, execution_logs.creators
    schema_version: ClassVar[int] = 3
    tables: ClassVar[tuple[str, ...]] = ("schedules", "execution_logs")

    def create(self, cur: Cursor) -> None:
        """Create ``schedules`` and ``execution_logs``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS schedules (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                cron TEXT NOT NULL,
                timezone TEXT NOT NULL,
                keywords TEXT,
                profile TEXT NOT NULL,
                searches INTEGER NOT NULL DEFAULT 1,
                creators TEXT,
                state TEXT NOT NULL,
                triggers INTEGER NOT NULL DEFAULT 0,
                last_scheduled_for TEXT,
                last_triggered_at TEXT,
                next_run_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""")
        cur.execute(
            """CREATE TABLE IF NOT EXISTS execution_logs (
                notification_id INTEGER PRIMARY KEY,
                schedule_id TEXT NOT NULL,
                schedule_name TEXT NOT NULL,
                scheduled_for TEXT NOT NULL,
                triggered_at TEXT NOT NULL,
                missed INTEGER NOT NULL,
                tasks INTEGER NOT NULL,
                task_ids TEXT NOT NULL,
                note TEXT,
                on_request INTEGER NOT NULL DEFAULT 0,
                creators TEXT
            )""")

    def handlers(self) -> dict[str, Handler]:
        """Schedule events."""
        return {"ScheduleCreated": self._created, "ScheduleTriggered": self._triggered,
                "ScheduleRunOnRequest": self._ran_on_request,
                "SchedulePaused": self._paused, "ScheduleResumed": self._resumed,
                "ScheduleRemoved": self._removed}

    @staticmethod
    def _next_run(cron_text: str, timezone: str, since: str) -> str:
        nxt = cron.next_after(cron_text, timezone, datetime.fromisoformat(since))
        return nxt.astimezone(UTC).isoformat()

    def _next_of(self, cur: Cursor, schedule_id: str, since: str) -> str | None:
        row = cur.execute("SELECT cron, timezone FROM schedules WHERE id=?",
                          (schedule_id,)).fetchone()
        return self._next_run(row[0], row[1], since) if row else None

    def _created(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        ts = rec.timestamp or ""
        starts = iso(s["starts_at"]) or ts
        creators = ["*"] if s.get("all_creators") else s.get("creators")
        replace_row(cur, "schedules", ("id",), {
            "id": rec.aggregate, "name": s["name"], "cron": s["cron"],
            "timezone": s["timezone"],
            "keywords": json.dumps(s["keywords"]) if s["keywords"] is not None else None,
            "profile": s["profile"], "searches": int(s.get("searches", True)),
            "creators": json.dumps(creators) if creators else None, "state": "active",
            "next_run_at": self._next_run(s["cron"], s["timezone"], starts),
            "created_at": ts, "updated_at": ts})

    def _triggered(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        scheduled_for = iso(s["scheduled_for"]) or ""
        row = cur.execute("SELECT name, cron, timezone FROM schedules WHERE id=?",
                          (rec.aggregate,)).fetchone()
        name, nxt = (row[0], self._next_run(row[1], row[2], scheduled_for)) if row \
            else ("?", None)
        cur.execute(
            "UPDATE schedules SET triggers=triggers+1, last_scheduled_for=?, "
            "last_triggered_at=?, next_run_at=?, updated_at=? WHERE id=?",
            (scheduled_for, rec.timestamp, nxt, rec.timestamp, rec.aggregate))
        cur.execute(_EXECUTION_ROW,
                    (rec.notification_id, rec.aggregate, name, scheduled_for, rec.timestamp,
                     s["missed"], len(s["task_ids"]), json.dumps(s["task_ids"]), s["note"], 0,
                     _names(s.get("creators"))))

    def _ran_on_request(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        at = iso(s["at"]) or rec.timestamp or ""
        row = cur.execute("SELECT name FROM schedules WHERE id=?", (rec.aggregate,)).fetchone()
        cur.execute("UPDATE schedules SET triggers=triggers+1, last_triggered_at=?, "
                    "updated_at=? WHERE id=?", (rec.timestamp, rec.timestamp, rec.aggregate))
        cur.execute(_EXECUTION_ROW,
                    (rec.notification_id, rec.aggregate, row[0] if row else "?", at,
                     rec.timestamp, 0, len(s["task_ids"]), json.dumps(s["task_ids"]),
                     s["note"], 1, _names(s.get("creators"))))

    def _paused(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE schedules SET state='paused', next_run_at=NULL, updated_at=? "
                    "WHERE id=?", (rec.timestamp, rec.aggregate))

    def _resumed(self, cur: Cursor, rec: EventRecord) -> None:
        since = iso(rec.state["resumed_at"]) or ""
        cur.execute("UPDATE schedules SET state='active', next_run_at=?, updated_at=? "
                    "WHERE id=?", (self._next_of(cur, rec.aggregate, since), rec.timestamp,
                                   rec.aggregate))

    def _removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE schedules SET state='removed', next_run_at=NULL, updated_at=? "
                    "WHERE id=?", (rec.timestamp, rec.aggregate))


def _names(creators: list[str] | None) -> str | None:
    """The creator checks a run started, as JSON (None: the schedule checks none)."""
    return json.dumps(creators) if creators is not None else None
