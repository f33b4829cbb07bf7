"""Handlers of the ``automation:*`` channels for the dispatcher: rank tracking and schedules.

Writes go to the ``RankTrackerActor`` and ``SchedulerActor``; reads are the queries of
``projections.rank_queries`` on settled views.
``start-search`` replies with the queued tasks at once; ``get-results`` reports each task's
state and positions from the read model.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC
from typing import Any
from uuid import UUID

import pykka

from actors.rank_tracker import RankTrackerActor
from actors.scheduler import SchedulerActor
from adapters.evidence import EvidenceStore, StoredPage, for_viewing
from domain.errors import ValidationError
from domain.rank import search_label
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
    GetEvidence,
    GetPositions,
    GetReport,
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
    Reparse,
    ResumeSchedule,
    RunSchedule,
    StartSearch,
    StopSearch,
)
from projections import rank_queries
from projections.sql import Connection
from service.reparse import Reparser
from service.views import SettledReads

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class RankChannels:
    """Turns automation commands into actor calls and read-model queries."""

    def __init__(self, tracker: pykka.ActorProxy[RankTrackerActor],
                 scheduler: pykka.ActorProxy[SchedulerActor],
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None], evidence: EvidenceStore,
                 reparser: Reparser) -> None:
        self._tracker = tracker
        self._scheduler = scheduler
        self._reads = SettledReads(read, settle)
        self._evidence = evidence
        self.reparser = reparser

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        t, s = self._tracker, self._scheduler
        return {
            AddDomain: lambda c: t.add_domain(c).get(timeout=TIMEOUT),
            RemoveDomain: lambda c: t.remove_domain(c).get(timeout=TIMEOUT),
            ListDomains: lambda c: self._reads.query(rank_queries.domains, c.include_removed),
            AddKeyword: lambda c: t.add_keyword(c).get(timeout=TIMEOUT),
            RemoveKeyword: lambda c: t.remove_keyword(c).get(timeout=TIMEOUT),
            ListKeywords: lambda c: self._reads.query(rank_queries.keywords, c.include_removed),
            ListEngines: lambda c: t.engines().get(timeout=TIMEOUT),
            StartSearch: self._start,
            StopSearch: lambda c: t.stop_search(c.task_id).get(timeout=TIMEOUT),
            GetTasks: lambda c: self._reads.query(rank_queries.tasks, c.state, c.limit),
            GetResults: lambda c: self.outcomes([str(UUID(t)) for t in c.task_ids]),
            GetPositions: lambda c: self._reads.query(
                rank_queries.positions, c.domain, c.keyword, c.limit, c.engine, c.country,
                c.device, c.location),
            CreateSchedule: lambda c: s.create(c).get(timeout=TIMEOUT),
            PauseSchedule: lambda c: s.pause(c.name).get(timeout=TIMEOUT),
            ResumeSchedule: lambda c: s.resume(c.name).get(timeout=TIMEOUT),
            RemoveSchedule: lambda c: s.remove(c.name).get(timeout=TIMEOUT),
            RunSchedule: lambda c: s.run_now(c.name).get(timeout=TIMEOUT),
            ListSchedules: lambda c: self._reads.query(rank_queries.schedules, c.include_removed),
            GetEvidence: self._evidence_page,
            GetReport: lambda c: self._reads.query(
                rank_queries.report, c.domain, c.keyword, c.engine, c.device,
                c.since.astimezone(UTC).isoformat() if c.since else None, c.limit, c.country,
                c.location),
        }

    def progressive(self) -> dict[type[Any], Any]:
        """Long commands, given the caller's progress callback."""
        return {Reparse: self.reparser.run}

    def _evidence_page(self, c: GetEvidence) -> dict[str, Any]:
        """One kept page of a search, safe to open, with a banner (see ``GetEvidence``)."""
        task_id = str(UUID(c.task_id))
        [task] = self.outcomes([task_id])
        if task["state"] == "unknown":
            raise ValidationError(f"no search task {c.task_id}", field="task_id")
        pages: list[str] = task["evidence"]
        if not pages:
            raise ValidationError("this search kept no page (it read none, or ran before "
                                  "vipb kept pages)", field="task_id")
        if c.page > len(pages):
            raise ValidationError(f"the search kept {len(pages)} page(s)", field="page")
        key = pages[c.page - 1]
        stored = self._evidence.get(key)
        reply: dict[str, Any] = {"task_id": task_id, "page": c.page, "pages": len(pages),
                                 "hash": key, "kept": bool(stored and stored.html),
                                 "note": None, "html": None}
        if stored is None:
            reply["note"] = "the page is not in this store (lost, or kept by another store)"
            return reply
        reply.update(url=stored.url, size=stored.size, first_at=stored.first_at,
                     last_at=stored.last_at, note=stored.note)
        if stored.html is not None:
            reply["html"] = for_viewing(stored.html, evidence_banner(task, c.page, stored))
        return reply

    def _start(self, c: StartSearch) -> Any:
        tasks: list[dict[str, Any]] = self._tracker.start_search(c).get(timeout=TIMEOUT)
        return {"tasks": tasks}

    def outcomes(self, task_ids: list[str]) -> list[dict[str, Any]]:
        """Each task's state and, when completed, its position per target domain."""
        found: list[dict[str, Any]] = self._reads.query(rank_queries.outcomes, task_ids)
        return found


def evidence_banner(task: dict[str, Any], page: int,
                    stored: StoredPage) -> list[tuple[str, str]]:
    """What a kept page is: the search, where it was made from and read, by what."""
    exit_country = task.get("exit_country") or "unknown"
    route = f"{exit_country} ({task.get('exit_basis') or 'unknown'})"
    route += f" through proxy {task['proxy_id']}" if task.get("proxy_id") else " (direct)"
    rows = [("search", search_label(task["keyword"], task["engine"], task.get("country"),
                                    task.get("device"), location=task.get("location"),
                                    language=task.get("language"))),
            ("engine", task["engine"]), ("query", task["keyword"]),
            ("page", f"{page} of {len(task['evidence'])}"), ("read at", stored.url),
            ("first read", stored.first_at), ("last read", stored.last_at),
            ("left from", route), ("outcome", task["state"] + (
                f" ({task['reason']})" if task.get("reason") else "")),
            ("layout", task.get("layout") or "-"),
            ("definition", task.get("definition") or "-"),
            ("task", task["id"]), ("page hash", stored.hash)]
    if task.get("notices"):
        rows.append(("also shown", ", ".join(task["notices"])))
    return rows
