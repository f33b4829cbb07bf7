"""Handlers of the ``automation:*`` channels for the dispatcher: rank tracking and schedules.

Writes go to the ``RankTrackerActor`` and ``SchedulerActor``; reads come from the views.
``start-search`` replies with the queued tasks at once; ``get-results`` reports each task's
state and positions from the read model.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

import pykka

from actors.rank_tracker import RankTrackerActor
from actors.scheduler import SchedulerActor
from domain.automation_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
    GetPositions,
    GetResults,
    GetTasks,
    ListDomains,
    ListKeywords,
    ListSchedules,
    PauseSchedule,
    RemoveDomain,
    RemoveKeyword,
    RemoveSchedule,
    ResumeSchedule,
    StartSearch,
    StopSearch,
)

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class AutomationChannels:
    """Turns automation commands into actor calls and read-model queries."""

    def __init__(self, tracker: pykka.ActorProxy[RankTrackerActor],
                 scheduler: pykka.ActorProxy[SchedulerActor],
                 read: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 settle: Callable[[], None]) -> None:
        self._tracker = tracker
        self._scheduler = scheduler
        self._read = read
        self._settle = settle

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        t, s = self._tracker, self._scheduler
        return {
            AddDomain: lambda c: t.add_domain(c).get(timeout=TIMEOUT),
            RemoveDomain: lambda c: t.remove_domain(c).get(timeout=TIMEOUT),
            ListDomains: self._domains,
            AddKeyword: lambda c: t.add_keyword(c).get(timeout=TIMEOUT),
            RemoveKeyword: lambda c: t.remove_keyword(c).get(timeout=TIMEOUT),
            ListKeywords: self._keywords,
            StartSearch: self._start,
            StopSearch: lambda c: t.stop_search(c.task_id).get(timeout=TIMEOUT),
            GetTasks: self._tasks,
            GetResults: lambda c: self.outcomes([str(UUID(t)) for t in c.task_ids]),
            GetPositions: self._positions,
            CreateSchedule: lambda c: s.create(c).get(timeout=TIMEOUT),
            PauseSchedule: lambda c: s.pause(c.name).get(timeout=TIMEOUT),
            ResumeSchedule: lambda c: s.resume(c.name).get(timeout=TIMEOUT),
            RemoveSchedule: lambda c: s.remove(c.name).get(timeout=TIMEOUT),
            ListSchedules: self._schedules,
        }

    def _start(self, c: StartSearch) -> Any:
        tasks: list[dict[str, Any]] = self._tracker.start_search(c).get(timeout=TIMEOUT)
        return {"tasks": tasks}

    def outcomes(self, task_ids: list[str]) -> list[dict[str, Any]]:
        """Each task's state and, when completed, its position per target domain."""
        self._settle()
        with self._read() as conn:
            marks = ",".join("?" * len(task_ids))
            tasks = {r["id"]: dict(r) for r in conn.execute(
                f"SELECT * FROM search_tasks WHERE id IN ({marks})", task_ids)}
            rows = conn.execute(
                f"SELECT task_id, domain, position, url, results_scanned FROM "
                f"position_history WHERE task_id IN ({marks}) ORDER BY domain", task_ids)
            positions: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                positions.setdefault(r["task_id"], []).append(
                    {"domain": r["domain"], "position": r["position"], "url": r["url"],
                     "results_scanned": r["results_scanned"]})
        result = []
        for task_id in task_ids:
            row = tasks.get(task_id, {"id": task_id, "state": "unknown"})
            keep = ("id", "keyword", "engine", "country", "state", "attempts", "proxy_id",
                    "results_scanned", "error", "reason")
            result.append({**{k: row.get(k) for k in keep},
                           "positions": positions.get(task_id, [])})
        return result

    def _domains(self, c: ListDomains) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where = "" if c.include_removed else "WHERE state='active'"
            rows = conn.execute(f"SELECT * FROM target_domains {where} ORDER BY domain")
            return [{**dict(r), "include_subdomains": bool(r["include_subdomains"])}
                    for r in rows]

    def _keywords(self, c: ListKeywords) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where = "" if c.include_removed else "WHERE state='active'"
            rows = conn.execute(f"SELECT * FROM keywords {where} ORDER BY keyword, engine")
            return [dict(r) for r in rows]

    def _tasks(self, c: GetTasks) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where, params = ("WHERE state=?", [c.state]) if c.state else ("", [])
            rows = conn.execute(f"SELECT * FROM search_tasks {where} ORDER BY queued_at DESC, "
                                f"id LIMIT ?", (*params, c.limit))
            return [{**dict(r), "domains": json.loads(r["domains"])} for r in rows]

    def _positions(self, c: GetPositions) -> list[dict[str, Any]]:
        self._settle()
        clauses, params = [], []
        if c.domain:
            clauses.append("domain=?")
            params.append(c.domain)
        if c.keyword:
            clauses.append("keyword=? COLLATE NOCASE")
            params.append(c.keyword)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # previous_position: the same domain, keyword, engine and country one search earlier
        # (filters are on partition columns, so they do not change what "earlier" is)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT *, LAG(position) OVER (PARTITION BY domain, keyword, engine, "
                f"coalesce(country, '') ORDER BY recorded_at) AS previous_position, "
                f"LAG(recorded_at) OVER (PARTITION BY domain, keyword, engine, "
                f"coalesce(country, '') ORDER BY recorded_at) AS previous_at "
                f"FROM position_history {where} ORDER BY recorded_at DESC, domain LIMIT ?",
                (*params, c.limit))
            return [{**dict(r), "ranked": bool(r["ranked"]), "change": _change(r)}
                    for r in rows]

    def _schedules(self, c: ListSchedules) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where = "" if c.include_removed else "WHERE state!='removed'"
            rows = conn.execute(f"SELECT * FROM schedules {where} ORDER BY name")
            return [{**dict(r), "keywords": json.loads(r["keywords"]) if r["keywords"]
                     else None} for r in rows]


def _change(row: Any) -> int | None:
    """Places gained since the previous search (negative: lost); None when either search
    did not rank the domain or there is no previous search."""
    if row["position"] is None or row["previous_position"] is None:
        return None
    change: int = row["previous_position"] - row["position"]
    return change
