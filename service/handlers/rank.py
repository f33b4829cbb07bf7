"""Handlers of the ``automation:*`` channels: rank tracking and schedules.

Writes go to the ``RankTrackerActor`` and ``SchedulerActor``; reads are the queries of
``projections.rank_queries`` on settled views.
``start-search`` replies with the queued tasks at once; ``get-results`` reports each task's
state and positions from the read model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.evidence import StoredPage, for_viewing
from domain.errors import ValidationError
from domain.keyword_names import search_label
from domain.progress import Progress
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    ComparePositions,
    CreateSchedule,
    GetEvidence,
    GetPositions,
    GetReport,
    GetResults,
    GetTasks,
    ImportKeywords,
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
from domain.ranking import side_by_side
from projections import rank_queries
from service.handlers.deps import TIMEOUT, Deps


def add_domain(c: AddDomain, deps: Deps) -> Any:
    """Track a target domain."""
    return deps.tracker.add_domain(c).get(timeout=TIMEOUT)


def remove_domain(c: RemoveDomain, deps: Deps) -> Any:
    """Stop tracking a target domain."""
    return deps.tracker.remove_domain(c).get(timeout=TIMEOUT)


def list_domains(c: ListDomains, deps: Deps) -> Any:
    """Target domains from the view."""
    return deps.reads.query(rank_queries.domains, c.include_removed)


def add_keyword(c: AddKeyword, deps: Deps) -> Any:
    """Track a keyword."""
    return deps.tracker.add_keyword(c).get(timeout=TIMEOUT)


def import_keywords(c: ImportKeywords, deps: Deps) -> Any:
    """Track many keywords at once."""
    return deps.tracker.import_keywords(c).get(timeout=TIMEOUT)


def remove_keyword(c: RemoveKeyword, deps: Deps) -> Any:
    """Stop tracking a keyword."""
    return deps.tracker.remove_keyword(c).get(timeout=TIMEOUT)


def list_keywords(c: ListKeywords, deps: Deps) -> Any:
    """Keywords from the view."""
    return deps.reads.query(rank_queries.keywords, c.include_removed)


def list_engines(_c: ListEngines, deps: Deps) -> Any:
    """The engine definitions in force and their problems."""
    return deps.tracker.engines().get(timeout=TIMEOUT)


def start_search(c: StartSearch, deps: Deps) -> dict[str, Any]:
    """Queue searches; the reply lists the queued tasks at once."""
    tasks: list[dict[str, Any]] = deps.tracker.start_search(c).get(timeout=TIMEOUT)
    return {"tasks": tasks}


def stop_search(c: StopSearch, deps: Deps) -> Any:
    """Stop a queued or running search."""
    return deps.tracker.stop_search(c.task_id).get(timeout=TIMEOUT)


def get_tasks(c: GetTasks, deps: Deps) -> Any:
    """Search tasks from the view."""
    return deps.reads.query(rank_queries.tasks, c.state, c.limit)


def outcomes(task_ids: list[str], deps: Deps) -> list[dict[str, Any]]:
    """Each task's state and, when completed, its position per target domain."""
    found: list[dict[str, Any]] = deps.reads.query(rank_queries.outcomes, task_ids)
    return found


def get_results(c: GetResults, deps: Deps) -> list[dict[str, Any]]:
    """The outcomes of the named tasks."""
    return outcomes([str(UUID(t)) for t in c.task_ids], deps)


def get_positions(c: GetPositions, deps: Deps) -> Any:
    """Position history from the view, filtered."""
    return deps.reads.query(rank_queries.positions, c.domain, c.keyword, c.limit, c.engine,
                            c.country, c.device, c.location)


def create_schedule(c: CreateSchedule, deps: Deps) -> Any:
    """Create a cron schedule."""
    return deps.scheduler.create(c).get(timeout=TIMEOUT)


def pause_schedule(c: PauseSchedule, deps: Deps) -> Any:
    """Pause a schedule."""
    return deps.scheduler.pause(c.name).get(timeout=TIMEOUT)


def resume_schedule(c: ResumeSchedule, deps: Deps) -> Any:
    """Resume a schedule."""
    return deps.scheduler.resume(c.name).get(timeout=TIMEOUT)


def remove_schedule(c: RemoveSchedule, deps: Deps) -> Any:
    """Remove a schedule."""
    return deps.scheduler.remove(c.name).get(timeout=TIMEOUT)


def run_schedule(c: RunSchedule, deps: Deps) -> Any:
    """Run a schedule now."""
    return deps.scheduler.run_now(c.name).get(timeout=TIMEOUT)


def list_schedules(c: ListSchedules, deps: Deps) -> Any:
    """Schedules from the view."""
    return deps.reads.query(rank_queries.schedules, c.include_removed)


def get_report(c: GetReport, deps: Deps) -> Any:
    """The rank report rows, filtered."""
    return deps.reads.query(
        rank_queries.report, c.domain, c.keyword, c.engine, c.device,
        c.since.astimezone(UTC).isoformat() if c.since else None, c.limit, c.country,
        c.location)


def compare_positions(c: ComparePositions, deps: Deps) -> list[dict[str, Any]]:
    """Positions side by side (see ``ComparePositions``)."""
    def side(at: datetime | None, country: str | None, device: str | None) -> Any:
        return deps.reads.query(rank_queries.positions_as_of,
                                at.astimezone(UTC).isoformat() if at else None, c.domain,
                                c.keyword, c.engine, country, device, c.location)

    countries = c.countries or (c.country, c.country)
    devices = c.devices or (c.device, c.device)
    a = side(c.at_a if c.apart is None else c.at_b, countries[0], devices[0])
    b = side(c.at_b, countries[1], devices[1])
    return side_by_side(a, b, c.apart)[:c.limit]


def get_evidence(c: GetEvidence, deps: Deps) -> dict[str, Any]:
    """One kept page of a search, safe to open, with a banner (see ``GetEvidence``)."""
    task_id = str(UUID(c.task_id))
    [task] = outcomes([task_id], deps)
    if task["state"] == "unknown":
        raise ValidationError(f"no search task {c.task_id}", field="task_id")
    pages: list[str] = task["evidence"]
    if not pages:
        raise ValidationError("this search kept no page (it read none, or ran before "
                              "vipb kept pages)", field="task_id")
    if c.page > len(pages):
        raise ValidationError(f"the search kept {len(pages)} page(s)", field="page")
    key = pages[c.page - 1]
    stored = deps.evidence.get(key)
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


def reparse(c: Reparse, deps: Deps, progress: Progress | None = None) -> Any:
    """Parse kept pages again with today's engine definitions."""
    return deps.reparser.run(c, progress)


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


HANDLERS = {
    AddDomain: add_domain, RemoveDomain: remove_domain, ListDomains: list_domains,
    AddKeyword: add_keyword, ImportKeywords: import_keywords, RemoveKeyword: remove_keyword,
    ListKeywords: list_keywords,
    ListEngines: list_engines, StartSearch: start_search, StopSearch: stop_search,
    GetTasks: get_tasks, GetResults: get_results, GetPositions: get_positions,
    CreateSchedule: create_schedule, PauseSchedule: pause_schedule,
    ResumeSchedule: resume_schedule, RemoveSchedule: remove_schedule,
    RunSchedule: run_schedule, ListSchedules: list_schedules, GetEvidence: get_evidence,
    GetReport: get_report, ComparePositions: compare_positions,
}
PROGRESSIVE = {Reparse: reparse}
