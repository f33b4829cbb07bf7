"""The ``RankTrackerActor``: target domains, tracked keywords, and queuing searches.

Queuing a search records ``SearchTaskQueued`` (with the target domains of that moment; which
searches a run makes is ``domain.search_plan``'s to say) and hands the tasks to the task
runner (``actors.task_runner``): at most ``concurrency`` run at once, each a ``SearchWorker``
in its own thread, so the actor is never busy with a search. Tasks left unfinished by a
stopped or killed host are resumed by the next one (``resume``). On a store several hosts
share (``claims`` given), a task runs where it is claimed (see ``actors.claims``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.claims import Claims
from actors.fetch_ways import FetchWays
from actors.retries import RetryPolicy
from actors.route_planner import RoutePlanner
from actors.search_worker import Outcome, SearchParts, SearchWorker
from actors.tab_supervisor import TabSupervisorActor
from actors.task_runner import TaskRunner
from actors.writer import EventWriter
from adapters.config import Settings
from adapters.evidence import EvidenceStore
from adapters.serp import RECHECK, Engines, SerpError, UnknownEngineError
from domain import rules, search_plan
from domain.errors import AutomationError, ConcurrencyError, ValidationError
from domain.rank import (
    RANK_TARGETS_ID,
    Place,
    RankTargets,
    SearchTask,
    keyword_key,
)
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    ImportKeywords,
    RemoveDomain,
    RemoveKeyword,
    StartSearch,
)
from domain.results import Ack

log = logging.getLogger(__name__)

# how long a commutative change of the targets keeps being tried on fresh loads while other
# writers save first (a count ran out on a busy machine: two hosts adding keywords from six
# threads lost eight races in a row to each other), and the longest pause between tries
CONFLICT_PATIENCE = 10.0
CONFLICT_PAUSE = 0.25
_JITTER = random.Random()


class RankTrackerActor(VipbActor):
    """Owns ``RankTargets`` and the queue of ``SearchTask``s."""

    def __init__(self, writer: EventWriter,
                 tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]],
                 planner: Callable[[], RoutePlanner], settings: Settings,
                 outcome: Outcome | None = None, claims: Claims | None = None,
                 evidence: EvidenceStore | None = None,
                 unfinished: Callable[[], list[str]] = list) -> None:
        """``evidence``: where searches keep the pages they read; ``unfinished``: the ids
        of every task on record that has no outcome yet (whoever queued it)."""
        super().__init__()
        self._unfinished = unfinished
        self._claims = claims
        self._egress = settings.egress_policy()
        self._writer = writer
        self._tabs = tabs
        self._engine_urls = dict(settings.engine_urls)
        self._default_engine = settings.default_engine
        self._engines = Engines(settings.engines_dir, settings.engine_urls, recheck=RECHECK)
        self._targets: RankTargets | None = None
        parts = SearchParts(tabs, planner, self._engines, RetryPolicy.from_settings(settings),
                            outcome, evidence, FetchWays(settings.search_fetch))
        self._runner: TaskRunner[SearchTask] = TaskRunner(
            SearchTask, SearchWorker.perform(parts), writer, settings.search_concurrency,
            "vipb-search", lambda task: f"search task {task.id}", claims)

    # --- targets ---------------------------------------------------------------------------------

    def load_targets(self) -> int:
        """Load the targets now (a host getting ready does: rebuilding them from a long
        history of keywords took the first run after a start ~0.2 s for 600 of them);
        how many keywords are tracked."""
        return len(self.targets().keywords)

    def targets(self) -> RankTargets:
        """The singleton, created on first use (on a shared store read afresh each time:
        other hosts change it too)."""
        if self._targets is None or self._claims is not None:
            self._targets = self._writer.load(RankTargets, RANK_TARGETS_ID)
            if self._targets is None:
                self._targets = RankTargets(id=RANK_TARGETS_ID)
        return self._targets

    def _change(self, change: Callable[[RankTargets], str]) -> Ack:
        """Apply ``change`` (it returns what it changed, for the ack) to the targets and save
        them. Adding or removing one domain or keyword commutes with any other such change:
        when another host (or process) saved the targets first, the change is made again on
        a fresh load, for up to ``CONFLICT_PATIENCE`` seconds, instead of failing the
        command."""
        deadline = time.monotonic() + CONFLICT_PATIENCE
        attempt = 0
        while True:
            targets = self.targets()
            what = change(targets)
            try:
                return Ack.of(what, self._writer.save(targets))
            except ConcurrencyError:
                self._targets = None  # theirs is on record: load it and apply ours on top
                # a random pause so that two writers in step fall out of step
                pause = _JITTER.uniform(0, min(CONFLICT_PAUSE, 0.005 * 2 ** attempt))
                if time.monotonic() + pause >= deadline:
                    raise
                time.sleep(pause)
                attempt += 1
            except BaseException:
                self._targets = None  # its unsaved events must not ride along next time
                raise

    def add_domain(self, command: AddDomain) -> Ack:
        """Track a domain (re-adding with other options updates them)."""
        def change(targets: RankTargets) -> str:
            targets.track_domain(command.domain, command.include_subdomains)
            return command.domain
        return self._change(change)

    def remove_domain(self, command: RemoveDomain) -> Ack:
        """Stop tracking a domain."""
        def change(targets: RankTargets) -> str:
            targets.untrack_domain(command.domain)
            return command.domain
        return self._change(change)

    def add_keyword(self, command: AddKeyword) -> Ack:
        """Track a keyword (re-adding with another depth or exit rule updates it)."""
        self._check_engine(command.engine, command.location)
        place = Place(command.country, command.location, command.language,
                      command.any_exit_country)
        return self._change(lambda targets: targets.track_keyword(
            command.keyword, command.engine, command.depth, command.device, place))

    def remove_keyword(self, command: RemoveKeyword) -> Ack:
        """Stop tracking the keyword the command names (or, ``all_matching``, each one it
        matches); the ack's id is the key removed (several: joined by newlines)."""
        names = ("engine", "device", "country", "location", "language")
        given = {name: getattr(command, name) for name in names
                 if command.exact or getattr(command, name) is not None}
        if command.exact:
            given["engine"] = given["engine"] or self._default_engine
            given["device"] = given["device"] or "desktop"
        return self._change(lambda targets: "\n".join(targets.untrack_keywords(
            command.keyword, given, every=command.all_matching)))

    def import_keywords(self, command: ImportKeywords) -> dict[str, Any]:
        """Track many keywords with one save; those this host refuses (an engine it does not
        know, a location the engine cannot take) are answered by their index."""
        errors: list[dict[str, Any]] = []
        accepted: list[AddKeyword] = []
        for index, row in enumerate(command.keywords):
            try:
                self._check_engine(row.engine, row.location)
                accepted.append(row)
            except ValidationError as exc:
                errors.append({"index": index, "error": exc.message})
        outcome: dict[str, list[str]] = {}

        def change(targets: RankTargets) -> str:
            outcome.update(added=[], updated=[], unchanged=[])
            for row in accepted:
                before = len(targets.pending_events)
                known = keyword_key(row.keyword, row.engine, row.country, row.device,
                                    row.location, row.language) in targets.keywords
                key = targets.track_keyword(row.keyword, row.engine, row.depth, row.device,
                                            Place(row.country, row.location, row.language,
                                                  row.any_exit_country))
                kind = ("unchanged" if len(targets.pending_events) == before
                        else "updated" if known else "added")
                outcome[kind].append(key)
            return RANK_TARGETS_ID.hex
        ack = self._change(change) if accepted else None
        return {**outcome, "errors": errors, "position": ack.position if ack else 0}

    def tracked(self, keywords: list[str] | None) -> list[dict[str, Any]]:
        """Tracked keyword entries, all of them or those whose words are in ``keywords``."""
        return [dict(s.__dict__) for s in search_plan.tracked(self.targets(), keywords)]

    # --- tasks -----------------------------------------------------------------------------------

    def start_search(self, command: StartSearch, origin: str = "manual",
                     keywords: list[str] | None = None,
                     skip_if_pending: bool = False) -> list[dict[str, Any]]:
        """Queue one task per keyword; returns the tasks (id, keyword, engine, country)
        (see ``prepare_search``)."""
        tasks = self.prepare_search(command, origin, keywords, skip_if_pending)
        self._writer.save(*tasks)
        return self.accept(tasks)

    def accept(self, tasks: list[SearchTask]) -> list[dict[str, Any]]:
        """Run tasks queued on record (saved by the caller, e.g. with the schedule that
        fired them); returns them as ``start_search`` does."""
        for task in tasks:
            self._runner.submit(task)
        return [self._describe(t) for t in tasks]

    def prepare_search(self, command: StartSearch, origin: str = "manual",
                       keywords: list[str] | None = None,
                       skip_if_pending: bool = False) -> list[SearchTask]:
        """One new task per search the command asks for (``domain.search_plan``), not
        saved yet, once every engine and profile it needs is usable.
        ``skip_if_pending``: refuse while tasks of the same ``origin`` are still queued or
        running (a schedule firing faster than its searches finish does not pile up)."""
        if skip_if_pending:
            pending = (self._claims.pending(origin) if self._claims is not None
                       else sum(1 for t in self._runner.tasks() if t.origin == origin))
            if pending:
                raise AutomationError(f"skipped: the previous run still has {pending} "
                                      "search(es) queued or running")
        targets = self.targets()
        searches = search_plan.plan(targets, command, keywords, self._default_engine)
        for name, location in {(s.engine, s.location) for s in searches}:
            self._check_engine(name, location)
        for device in {s.device for s in searches}:  # refused here, not retried
            self._tabs().check_profile(search_plan.profile_for(command.profile, device),
                                       device).get(timeout=60)
        return search_plan.tasks(searches, targets, command, origin)

    def _check_engine(self, name: str, location: str | None = None) -> None:
        """The engine is defined, its file reads, it can take ``location`` (if any), and its
        base URL obeys the same SSRF rule as tab URLs."""
        try:
            engine = self._engines.get(name)
            url = engine.url("test", 0, None)
        except UnknownEngineError as exc:
            raise ValidationError(exc.message, field="engine") from None
        except SerpError as exc:
            raise ValidationError(exc.message, field="engines") from None
        if location and not engine.definition.takes_location:
            raise ValidationError(
                f"{name} takes no location: its results come from the country (the "
                "proxy's exit); drop --location or use an engine that takes one (google)",
                field="location")
        try:
            rules.check_http_url(url)
            rules.check_public_target(url, self._egress)
        except ValueError as exc:
            where = f"engine_urls.{name}" if name in self._engine_urls else f"engines.{name}.url"
            raise ValidationError(str(exc), field=where) from None

    def engines(self) -> list[dict[str, Any]]:
        """The engines defined now: name, label, URL, layouts, features, source file."""
        return self._engines.describe()

    @staticmethod
    def _describe(task: SearchTask) -> dict[str, Any]:
        return {"id": str(task.id), "keyword": task.keyword, "engine": task.engine,
                "country": task.country, "location": task.location,
                "language": task.language, "any_exit_country": task.any_exit_country,
                "device": task.device, "depth": task.depth, "origin": task.origin}

    def completion(self, task_ids: list[str]) -> list[threading.Event]:
        """Events set when each task is finished (or no longer run by this tracker)."""
        return self._runner.completion(task_ids)

    def resume(self, task_ids: list[str]) -> int:
        """Queue unfinished tasks again (the host does this at start)."""
        return self._runner.resume(task_ids)

    def start_scanning(self) -> None:
        """On a shared store: look for claimable work now and then (a host does; a CLI
        process only runs what it queued itself)."""
        self._runner.start_scanning()

    def stop_search(self, task_id: str | None) -> dict[str, Any]:
        """Cancel one task (queued or running) or all; running ones stop at the next step."""
        key = str(UUID(task_id)) if task_id else None
        def record(task: SearchTask) -> None:
            task.cancelled(reason="stopped by request before it ran")
            self._writer.save(task)

        cancelled = [str(task.id) for task in self._runner.unqueue(key, record)]
        stopping = self._runner.cancel(key, "stopped by request")
        if key is not None and not cancelled and not stopping:
            if not self._cancel_on_record(key):
                raise ValidationError(f"no queued or running search task {task_id}",
                                      field="task_id")
            cancelled.append(key)
        elif key is None:
            here = {str(task.id) for task in self._runner.tasks()} | set(stopping)
            cancelled += [other for other in self._unfinished() if other not in here
                          and other not in cancelled and self._cancel_on_record(other)]
        return {"cancelled": cancelled, "stopping": stopping}

    def _cancel_on_record(self, task_id: str) -> bool:
        """Cancel a task this process does not run: one a stopped process left pending, or
        one another process runs (its next write finds the task changed and it stops there:
        see ``ClaimHolder.commit``). False when there is no such unfinished task."""
        for _attempt in range(3):  # its runner may write meanwhile: load it afresh
            pending = self._writer.load(SearchTask, UUID(task_id))
            if pending is None or pending.finished:
                return False
            pending.cancelled(reason="stopped by request")
            try:
                self._writer.save(pending)
                return True
            except ConcurrencyError:
                continue
        return False

    def active(self) -> dict[str, int]:
        """Queued and running task counts."""
        queued, running = self._runner.counts()
        return {"queued": queued, "running": running}

    def on_stop(self) -> None:
        """Interrupt running tasks (they stay pending on record and resume at the next
        host start, or on another host); queued tasks stay queued on record likewise."""
        self._runner.close()
