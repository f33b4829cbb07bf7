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
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
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
    ResumeSchedule,
    RunSchedule,
    StartSearch,
    StopSearch,
)
from projections import rank_queries
from projections.sql import Connection
from service.views import SettledReads

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class RankChannels:
    """Turns automation commands into actor calls and read-model queries."""

    def __init__(self, tracker: pykka.ActorProxy[RankTrackerActor],
                 scheduler: pykka.ActorProxy[SchedulerActor],
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None]) -> None:
        self._tracker = tracker
        self._scheduler = scheduler
        self._reads = SettledReads(read, settle)

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
            GetPositions: lambda c: self._reads.query(rank_queries.positions, c.domain, c.keyword,
                                                c.limit),
            CreateSchedule: lambda c: s.create(c).get(timeout=TIMEOUT),
            PauseSchedule: lambda c: s.pause(c.name).get(timeout=TIMEOUT),
            ResumeSchedule: lambda c: s.resume(c.name).get(timeout=TIMEOUT),
            RemoveSchedule: lambda c: s.remove(c.name).get(timeout=TIMEOUT),
            RunSchedule: lambda c: s.run_now(c.name).get(timeout=TIMEOUT),
            ListSchedules: lambda c: self._reads.query(rank_queries.schedules, c.include_removed),
            GetReport: lambda c: self._reads.query(
                rank_queries.report, c.domain, c.keyword, c.engine, c.device,
                c.since.astimezone(UTC).isoformat() if c.since else None, c.limit),
        }

    def _start(self, c: StartSearch) -> Any:
        tasks: list[dict[str, Any]] = self._tracker.start_search(c).get(timeout=TIMEOUT)
        return {"tasks": tasks}

    def outcomes(self, task_ids: list[str]) -> list[dict[str, Any]]:
        """Each task's state and, when completed, its position per target domain."""
        found: list[dict[str, Any]] = self._reads.query(rank_queries.outcomes, task_ids)
        return found
