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
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
    GetPositions,
    GetResults,
    GetTasks,
    ListDomains,
    ListEngines,
    ListKeywords,
    ListSchedules,
    PauseSchedule,
    RemoveDomain,
    RemoveKeyword,
    RemoveSchedule,
    ResumeSchedule,
    RunSchedule,
    StartSearch,
    StopSearch,
)

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class RankChannels:
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
            ListEngines: lambda c: t.engines().get(timeout=TIMEOUT),
            StartSearch: self._start,
            StopSearch: lambda c: t.stop_search(c.task_id).get(timeout=TIMEOUT),
            GetTasks: self._tasks,
            GetResults: lambda c: self.outcomes([str(UUID(t)) for t in c.task_ids]),
            GetPositions: self._positions,
            CreateSchedule: lambda c: s.create(c).get(timeout=TIMEOUT),
            PauseSchedule: lambda c: s.pause(c.name).get(timeout=TIMEOUT),
            ResumeSchedule: lambda c: s.resume(c.name).get(timeout=TIMEOUT),
            RemoveSchedule: lambda c: s.remove(c.name).get(timeout=TIMEOUT),
            RunSchedule: lambda c: s.run_now(c.name).get(timeout=TIMEOUT),
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
                f"SELECT task_id, domain, position, url, title, results_scanned FROM "
                f"position_history WHERE task_id IN ({marks}) ORDER BY domain", task_ids)
            positions: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                positions.setdefault(r["task_id"], []).append(
                    {"domain": r["domain"], "position": r["position"], "url": r["url"],
                     "title": r["title"], "results_scanned": r["results_scanned"]})
        result = []
        for task_id in task_ids:
            row = tasks.get(task_id, {"id": task_id, "state": "unknown"})
            keep = ("id", "keyword", "engine", "country", "device", "state", "attempts",
                    "proxy_id", "results_scanned", "error", "reason")
            result.append({**{k: row.get(k) for k in keep},
                           "features": _features(row.get("features")),
                           "no_results": bool(row.get("no_results")),
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
            return [{**dict(r), "domains": json.loads(r["domains"]),
                     "features": _features(r["features"])} for r in rows]

    def _positions(self, c: GetPositions) -> list[dict[str, Any]]:
        self._settle()
        clauses, params = [], []
        if c.domain:
            clauses.append("h.domain=?")
            params.append(c.domain)
        if c.keyword:
            clauses.append("h.keyword=? COLLATE NOCASE")
            params.append(c.keyword)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # previous_position: the same domain, keyword, engine, country and device one search
        # earlier (filters are on partition columns, so they do not change what "earlier" is)
        window = ("PARTITION BY h.domain, h.keyword, h.engine, coalesce(h.country, ''), "
                  "h.device ORDER BY h.recorded_at")
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT h.*, t.features AS features, t.no_results AS no_results, "
                f"LAG(h.position) OVER ({window}) AS previous_position, "
                f"LAG(h.recorded_at) OVER ({window}) AS previous_at "
                f"FROM position_history h LEFT JOIN search_tasks t ON t.id = h.task_id "
                f"{where} "
                f"ORDER BY h.recorded_at DESC, h.domain LIMIT ?", (*params, c.limit))
            return [{**dict(r), "ranked": bool(r["ranked"]), "change": _change(r),
                     "no_results": bool(r["no_results"]), "features": _features(r["features"])}
                    for r in rows]

    def _schedules(self, c: ListSchedules) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where = "" if c.include_removed else "WHERE state!='removed'"
            rows = conn.execute(f"SELECT * FROM schedules {where} ORDER BY name")
            return [{**dict(r), "keywords": json.loads(r["keywords"]) if r["keywords"]
                     else None} for r in rows]


def _features(text: str | None) -> dict[str, int]:
    """A task row's SERP features (feature -> count); empty before features were recorded."""
    return json.loads(text) if text else {}


def _change(row: Any) -> int | None:
    """Places gained since the previous search (negative: lost); None when either search
    did not rank the domain or there is no previous search."""
    if row["position"] is None or row["previous_position"] is None:
        return None
    change: int = row["previous_position"] - row["position"]
    return change
