"""The alerts view's memory of schedule runs, for digest rules.

A schedule's run (``ScheduleTriggered`` or ``ScheduleRunOnRequest``) names the searches it
queued. ``alert_runs`` holds one row per search of a run until the search is over (done,
cancelled, or failed for good); ``alert_run_rows`` keeps each outcome of those searches with
the position before it and the series' recent positions. When the last search of a run is
over, ``finish`` hands back the run's rows and forgets them: the digest is due.

Everything here is computed from events only, so a rebuild reaches the same runs and the
same digests (with the same alert ids) again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.alert import DIGEST_ROWS
from domain.keyword_names import search_label
from domain.ranking import movement, summarize, summary_text
from projections.sql import Cursor, upsert

RECENT = 10  # positions a series remembers, for a digest's sparklines
FAILED_LISTED = 20  # failed searches a digest names (it counts them all)
_OUTCOMES = {"SearchTaskCompleted": "done", "SearchTaskCancelled": "cancelled",
             "SearchTaskFailed": "failed"}


def create(cur: Cursor) -> None:
    """The two tables of runs in progress."""
    cur.execute(
        """CREATE TABLE IF NOT EXISTS alert_runs (
            task_id TEXT PRIMARY KEY,
            run TEXT NOT NULL,
            schedule TEXT NOT NULL,
            scheduled_for TEXT NOT NULL,
            search TEXT NOT NULL,
            outcome TEXT
        )""")
    cur.execute("CREATE INDEX IF NOT EXISTS alert_runs_pending ON alert_runs (run, outcome)")
    cur.execute(
        """CREATE TABLE IF NOT EXISTS alert_run_rows (
            run TEXT NOT NULL,
            keyword TEXT NOT NULL,
            engine TEXT NOT NULL,
            country TEXT NOT NULL,
            device TEXT NOT NULL,
            domain TEXT NOT NULL,
            before INTEGER,
            had_before INTEGER NOT NULL,
            after INTEGER,
            recent TEXT NOT NULL,
            PRIMARY KEY (run, keyword, engine, country, device, domain)
        )""")


TABLES = ("alert_runs", "alert_run_rows")


def recent_positions(previous: str | None, at: str | None, position: int | None) -> str:
    """A series' recent positions (JSON ``[[unix seconds, position or null], ...]``, at most
    ``RECENT``) with this outcome added."""
    points = json.loads(previous) if previous else []
    stamp = int(datetime.fromisoformat(at).timestamp()) if at else 0
    return json.dumps([*points[-(RECENT - 1):], [stamp, position]])


def start(cur: Cursor, run: str, schedule: str, scheduled_for: str,
          task_ids: list[str]) -> None:
    """A run queued ``task_ids`` (searches ``alert_searches`` knows about)."""
    for task_id in task_ids:
        search = cur.execute("SELECT keyword, engine, country, device FROM alert_searches "
                             "WHERE id=?", (task_id,)).fetchone()
        if search is None:  # over already, or queued before this view knew searches
            continue
        keyword, engine, place, device = search
        country, _, rest = place.partition("|")
        label = search_label(keyword, engine, country or None, device,
                             location=rest.partition("|")[0] or None)
        cur.execute(upsert("alert_runs", ("task_id", "run", "schedule", "scheduled_for",
                                          "search", "outcome"), ("task_id",)),
                    (task_id, run, schedule, scheduled_for, label, None))


def keep(cur: Cursor, task_id: str, key: tuple[str, ...], before: int | None,
         had_before: bool, after: int | None, recent: str) -> None:
    """Keep an outcome of a search, if a run queued it."""
    run = cur.execute("SELECT run FROM alert_runs WHERE task_id=?", (task_id,)).fetchone()
    if run is None:
        return
    cur.execute(upsert("alert_run_rows", ("run", "keyword", "engine", "country", "device",
                                          "domain", "before", "had_before", "after",
                                          "recent"),
                       ("run", "keyword", "engine", "country", "device", "domain")),
                (run[0], *key, before, int(had_before), after, recent))


@dataclass(frozen=True)
class FinishedRun:
    """A run whose every search is over: its id, schedule, rows and what failed."""

    run: str
    schedule: str
    scheduled_for: str
    searches: int
    failed: list[str]  # labels of the searches that failed for good
    cancelled: int
    rows: list[dict[str, Any]]


def finish(cur: Cursor, task_id: str, event: str) -> FinishedRun | None:
    """Mark a search over (``event``: the task's last event); the run, when it was the
    run's last search (its rows are forgotten here), else None."""
    found = cur.execute("SELECT run, schedule, scheduled_for FROM alert_runs WHERE task_id=? "
                        "AND outcome IS NULL", (task_id,)).fetchone()
    if found is None:
        return None
    run, schedule, scheduled_for = found
    cur.execute("UPDATE alert_runs SET outcome=? WHERE task_id=?",
                (_OUTCOMES.get(event, "done"), task_id))
    if cur.execute("SELECT 1 FROM alert_runs WHERE run=? AND outcome IS NULL LIMIT 1",
                   (run,)).fetchone() is not None:
        return None  # searches of the run still to finish (an index seek, not a scan)
    outcomes = cur.execute("SELECT search, outcome FROM alert_runs WHERE run=? "
                           "ORDER BY search", (run,)).fetchall()
    rows = [{"keyword": r[0], "engine": r[1], "country": r[2].partition("|")[0] or None,
             "location": r[2].partition("|")[2].partition("|")[0] or None, "device": r[3],
             "domain": r[4], "previous": r[5], "latest": r[7],
             "movement": movement(r[7], r[5], bool(r[6])), "recent": json.loads(r[8])}
            for r in cur.execute(
                "SELECT keyword, engine, country, device, domain, before, had_before, after, "
                "recent FROM alert_run_rows WHERE run=? ORDER BY keyword, engine, country, "
                "device, domain", (run,)).fetchall()]
    cur.execute("DELETE FROM alert_run_rows WHERE run=?", (run,))
    cur.execute("DELETE FROM alert_runs WHERE run=?", (run,))
    return FinishedRun(run, schedule, scheduled_for, len(outcomes),
                       [s for s, outcome in outcomes if outcome == "failed"],
                       sum(outcome == "cancelled" for _, outcome in outcomes), rows)


def _interest(row: dict[str, Any]) -> tuple[int, int, str]:
    """Rows that moved first (lost, entered, then by places moved), then the rest."""
    moved = str(row["movement"])
    places = abs(int(moved)) if moved[:1] in ("+", "-") else 0
    return ({"lost": 0, "entered": 1}.get(moved, 2 if places else 3), -places,
            f"{row['keyword']}\0{row['domain']}")


def digest(finished: FinishedRun, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """A digest's subject and sentence for ``rows`` (the run's rows a rule watches): the
    summary counts them all; the subject carries ``DIGEST_ROWS`` of them, those that moved
    first."""
    summary = summarize(rows)
    shown = sorted(rows, key=_interest)[:DIGEST_ROWS]
    subject = {"schedule": finished.schedule, "scheduled_for": finished.scheduled_for,
               "searches": finished.searches, "failed": len(finished.failed),
               "failed_searches": finished.failed[:FAILED_LISTED],
               "cancelled": finished.cancelled, "summary": summary, "rows": shown,
               "rows_left_out": len(rows) - len(shown)}
    failed = f"; {len(finished.failed)} search(es) failed" if finished.failed else ""
    return subject, f"{finished.schedule}: {summary_text(summary)}{failed}"
