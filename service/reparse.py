"""Re-reading history: the stored results pages of finished searches, read again with the
engine definitions in use now (``vipb rank reparse``).

Where today's definition gives a target domain another answer than the one on record, the
task gets a ``PositionRevised`` event (old and new answer, the definition's version); the
original events are never edited, and views show the revised answer with a mark. A parser
fix can so mend the past and say exactly what moved. A search whose pages are gone (retention,
or from before pages were kept) or that today's definition cannot read is reported, never
revised.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from uuid import UUID

from actors.writer import EventWriter
from adapters.evidence import EvidenceStore
from adapters.serp import Engine, Engines, Gathered, SerpError
from domain.errors import ConcurrencyError
from domain.progress import Progress
from domain.rank import Answer, SearchTask
from domain.rank_commands import Reparse
from domain.ranking import rank
from projections.sql import Connection


@dataclass
class Outcome:
    """What a re-read found, in numbers and in detail (``revised``)."""

    dry_run: bool
    tasks: int = 0
    reread: int = 0
    unchanged: int = 0
    same_definition: int = 0
    no_pages: int = 0
    pages_gone: int = 0
    unreadable: list[dict[str, str]] = field(default_factory=list)
    revised: list[dict[str, Any]] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=dict)
    position: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The reply of ``automation:reparse``."""
        return {"dry_run": self.dry_run, "tasks": self.tasks, "reread": self.reread,
                "unchanged": self.unchanged, "revised": self.revised,
                "skipped": {"same_definition": self.same_definition,
                            "no_pages": self.no_pages, "pages_gone": self.pages_gone,
                            "unreadable": len(self.unreadable)},
                "unreadable": self.unreadable, "definitions": self.definitions,
                "position": self.position}


class Reparser:
    """Reads stored pages again and records what changed."""

    def __init__(self, writer: EventWriter, evidence: EvidenceStore, engines: Engines,
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None]) -> None:
        self._writer = writer
        self._evidence = evidence
        self._engines = engines
        self._read = read
        self._settle = settle

    def run(self, command: Reparse, progress: Progress | None = None) -> dict[str, Any]:
        """Re-read the finished searches ``command`` selects; see the module docstring."""
        outcome = Outcome(dry_run=command.dry_run)
        ids = self._candidates(command)
        outcome.tasks = len(ids)
        for done, task_id in enumerate(ids, start=1):
            self._reread(task_id, outcome)
            if progress is not None:
                progress(done, len(ids))
        return outcome.as_dict()

    def _candidates(self, command: Reparse) -> list[str]:
        """The completed searches in the period and on the engine asked for, oldest first."""
        self._settle()
        clauses, params = ["state='completed'"], []
        if command.engine is not None:
            clauses.append("engine=?")
            params.append(command.engine)
        if command.since is not None:
            clauses.append("finished_at>=?")
            params.append(command.since.astimezone(UTC).isoformat())
        with self._read() as conn:
            rows = conn.execute(f"SELECT id FROM search_tasks WHERE {' AND '.join(clauses)} "
                                f"ORDER BY finished_at, id", params).fetchall()
        return [str(r[0]) for r in rows]

    def _reread(self, task_id: str, outcome: Outcome) -> None:
        for attempt in (1, 2):  # a host sharing the store may revise the same task at once
            task = self._writer.load(SearchTask, UUID(task_id))
            if task is None:
                return
            changes = self._changes(task, outcome if attempt == 1 else None)
            if not changes:
                return
            if outcome.dry_run:
                outcome.revised.extend(_shown(changes))
                return
            for change in changes:
                task.revised(**change["event"])
            try:
                ids = self._writer.save(task)
            except ConcurrencyError:
                continue
            outcome.revised.extend(_shown(changes))
            outcome.position = max(outcome.position, ids[-1] if ids else 0)
            return

    def _changes(self, task: SearchTask, outcome: Outcome | None) -> list[dict[str, Any]]:
        """The revisions today's definition makes to ``task`` (counting the rest in
        ``outcome``, on the first look only)."""
        count = outcome if outcome is not None else Outcome(dry_run=True)
        try:
            engine = self._engines.get(task.engine)
        except SerpError as exc:
            count.unreadable.append({"task_id": str(task.id), "reason": exc.message})
            return []
        count.definitions[engine.name] = engine.version
        if not task.evidence:
            count.no_pages += 1
            return []
        if task.definition == engine.version:
            count.same_definition += 1
            return []
        gathered = self._gather(task, engine, count)
        if gathered is None:
            return []
        count.reread += 1
        urls = [r.url for r in gathered.read]
        titles = {r.url: r.title for r in gathered.read}
        changes = []
        for ranking in rank(urls, task.domains):
            new = Answer(ranking.position, ranking.url, ranking.scanned)
            old = task.answers.get(ranking.domain)
            if old is None or _same(old, new):
                continue
            changes.append(_change(task, ranking.domain, old, new, engine.version,
                                   titles.get(ranking.url or "", "")))
        if not changes:
            count.unchanged += 1
        return changes

    def _gather(self, task: SearchTask, engine: Engine, count: Outcome) -> Gathered | None:
        """The task's stored pages read again (None: a page is gone or unreadable now)."""
        gathered = Gathered(task.depth)
        for number, key in enumerate(task.evidence, start=1):
            page = self._evidence.get(key)
            if page is None or page.html is None:
                count.pages_gone += 1
                return None
            try:
                more = gathered.add(engine.parse(page.html, page.url))
            except SerpError as exc:
                count.unreadable.append({"task_id": str(task.id),
                                         "reason": f"page {number}: {exc.message}"})
                return None
            if not more:
                break
        return gathered


def _same(old: Answer, new: Answer) -> bool:
    """The same answer: the same position and URL, or not ranked in as many results."""
    if old.position is None and new.position is None:
        return old.scanned == new.scanned
    return (old.position, old.url) == (new.position, new.url)


def _change(task: SearchTask, domain: str, old: Answer, new: Answer, version: str,
            title: str) -> dict[str, Any]:
    """One revision: the event's arguments and what the reply shows of it."""
    event = {"domain": domain, "old_position": old.position, "new_position": new.position,
             "old_url": old.url, "new_url": new.url, "results_scanned": new.scanned,
             "definition": version, "old_definition": task.definition or "(unversioned)",
             "title": title}
    return {"task_id": str(task.id), "keyword": task.keyword, "engine": task.engine,
            "country": task.country, "location": task.place.location,
            "device": task.device, "domain": domain, "old": old.position, "new": new.position,
            "old_url": old.url, "new_url": new.url, "results_scanned": new.scanned,
            "event": event}


def _shown(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The revisions as the reply shows them (without the event's arguments)."""
    return [{k: v for k, v in change.items() if k != "event"} for change in changes]
