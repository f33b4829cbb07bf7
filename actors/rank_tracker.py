"""The ``RankTrackerActor``: target domains, tracked keywords, and the search task queue.

Queuing a search records ``SearchTaskQueued`` (with the target domains of that moment);
at most ``concurrency`` tasks run at once, each in its own ``SearchWorkerActor``. Tasks left
unfinished by a stopped or killed host are resumed by the next one (``resume``).

On a store several hosts share (``claims`` given), a task runs where it is claimed: each host
claims a task just before it runs it (a version conflict means another host was first), and
looks for unclaimed work every ``SCAN_INTERVAL`` seconds, including tasks whose claiming host
stopped renewing its lease (see ``SearchTask``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.claims import SCAN_INTERVAL, Claims, claim
from actors.search_worker import (
    CancelToken,
    Outcome,
    RetryPolicy,
    Run,
    SearchWorkerActor,
    TaskDone,
)
from actors.tab_supervisor import TabSupervisorActor
from actors.writer import EventWriter
from adapters.config import Settings
from adapters.evidence import EvidenceStore
from adapters.serp import Engines, SerpError, UnknownEngineError
from domain import rules, search_plan
from domain.errors import AutomationError, ValidationError
from domain.rank import (
    RANK_TARGETS_ID,
    Place,
    RankTargets,
    SearchTask,
)
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    RemoveDomain,
    RemoveKeyword,
    StartSearch,
)
from domain.results import Ack
from domain.waits import idle_wait

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Scan:
    """Told every ``SCAN_INTERVAL``: look for claimable tasks."""


class RankTrackerActor(VipbActor):
    """Owns ``RankTargets`` and the queue of ``SearchTask``s."""

    def __init__(self, writer: EventWriter,
                 tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]], settings: Settings,
                 outcome: Outcome | None = None, claims: Claims | None = None,
                 evidence: EvidenceStore | None = None) -> None:
        """``evidence``: where searches keep the pages they read."""
        super().__init__()
        self._evidence = evidence
        self._claims = claims
        self._scanner: threading.Thread | None = None
        self._stopping = threading.Event()
        self._egress = settings.egress_policy()
        self._writer = writer
        self._tabs = tabs
        self._engine_urls = dict(settings.engine_urls)
        self._engines = Engines(settings.engines_dir, settings.engine_urls)
        self._concurrency = settings.search_concurrency
        self._policy = RetryPolicy.from_settings(settings)
        self._outcome = outcome
        self._targets: RankTargets | None = None
        self._queue: deque[SearchTask] = deque()  # on a shared store: reloaded to claim
        self._running: dict[str, tuple[pykka.ActorRef[SearchWorkerActor], CancelToken]] = {}
        self._done: dict[str, threading.Event] = {}
        self._origins: dict[str, str] = {}  # queued or running task id -> origin

    # --- targets ---------------------------------------------------------------------------------

    def targets(self) -> RankTargets:
        """The singleton, created on first use (on a shared store read afresh each time:
        other hosts change it too)."""
        if self._targets is None or self._claims is not None:
            self._targets = self._writer.load(RankTargets, RANK_TARGETS_ID)
            if self._targets is None:
                self._targets = RankTargets(id=RANK_TARGETS_ID)
        return self._targets

    def _save(self, targets: RankTargets, what: str) -> Ack:
        ids = self._writer.save(targets)
        return Ack.of(what, ids)

    def add_domain(self, command: AddDomain) -> Ack:
        """Track a domain (re-adding with other options updates them)."""
        targets = self.targets()
        targets.track_domain(command.domain, command.include_subdomains)
        return self._save(targets, command.domain)

    def remove_domain(self, command: RemoveDomain) -> Ack:
        """Stop tracking a domain."""
        targets = self.targets()
        targets.untrack_domain(command.domain)
        return self._save(targets, command.domain)

    def add_keyword(self, command: AddKeyword) -> Ack:
        """Track a keyword (re-adding with another depth or exit rule updates it)."""
        self._check_engine(command.engine, command.location)
        targets = self.targets()
        place = Place(command.country, command.location, command.language,
                      command.any_exit_country)
        key = targets.track_keyword(command.keyword, command.engine, command.depth,
                                    command.device, place)
        return self._save(targets, key)

    def remove_keyword(self, command: RemoveKeyword) -> Ack:
        """Stop tracking a keyword."""
        targets = self.targets()
        key = targets.untrack_keyword(command.keyword, command.engine, command.device,
                                      Place(command.country, command.location,
                                            command.language))
        return self._save(targets, key)

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
            self._enqueue(task)
        self._pump()
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
                       else sum(1 for o in self._origins.values() if o == origin))
            if pending:
                raise AutomationError(f"skipped: the previous run still has {pending} "
                                      "search(es) queued or running")
        targets = self.targets()
        searches = search_plan.plan(targets, command, keywords)
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

    def _enqueue(self, task: SearchTask) -> None:
        self._queue.append(task)
        self._done[str(task.id)] = threading.Event()
        self._origins[str(task.id)] = task.origin

    def _finished(self, task_id: str) -> None:
        self._origins.pop(task_id, None)
        event = self._done.pop(task_id, None)
        if event is not None:
            event.set()

    def completion(self, task_ids: list[str]) -> list[threading.Event]:
        """Events set when each task is finished (or no longer run by this tracker)."""
        done = threading.Event()
        done.set()
        return [self._done.get(str(UUID(t)), done) for t in task_ids]

    def resume(self, task_ids: list[str]) -> int:
        """Queue unfinished tasks again (the host does this at start)."""
        resumed = 0
        for task_id in task_ids:
            task = self._writer.load(SearchTask, UUID(task_id))
            if task is None or task.finished or task_id in self._done:
                continue
            self._enqueue(task)
            resumed += 1
        self._pump()
        return resumed

    def _pump(self) -> None:
        while self._queue and len(self._running) < self._concurrency:
            queued = self._queue.popleft()
            task = queued if self._claims is None else claim(
                self._writer, SearchTask, queued.id, self._claims, f"search task {queued.id}")
            if task is None:  # another host runs it, or it ended meanwhile
                self._finished(str(queued.id))
                continue
            token = CancelToken()
            worker = SearchWorkerActor.start(
                task, self._writer, self._tabs, self._engines, token,
                self.actor_ref, self._policy, self._outcome,
                lease=None if self._claims is None else self._claims.holding(),
                evidence=self._evidence)
            self._running[str(task.id)] = (worker, token)
            worker.tell(Run())

    def _scan(self) -> None:
        """Queue claimable tasks this host does not know yet (found in the read models,
        which may lag: each is checked against the store when it is claimed)."""
        claims = self._claims
        assert claims is not None
        free = self._concurrency - len(self._running) - len(self._queue)
        if free <= 0:
            return
        known = set(self._running) | {str(t.id) for t in self._queue}
        for task_id in claims.candidates(claims.host_id, claims.now(), free + len(known)):
            if task_id in known or free <= 0:
                continue
            task = self._writer.load(SearchTask, UUID(task_id))
            if task is None or not task.claimable_by(claims.host_id, claims.now()):
                continue
            self._enqueue(task)
            free -= 1
        self._pump()

    def start_scanning(self) -> None:
        """On a shared store: look for claimable work now and then (a host does; a CLI
        process only runs what it queued itself)."""
        if self._claims is not None and self._scanner is None:
            self._scanner = threading.Thread(target=self._scan_loop, name="vipb-task-scan",
                                             daemon=True)
            self._scanner.start()

    @idle_wait
    def _scan_loop(self) -> None:
        while not self._stopping.wait(SCAN_INTERVAL):
            try:
                self.actor_ref.tell(Scan())
            except pykka.ActorDeadError:
                return

    def on_receive(self, message: Any) -> Any:
        """``TaskDone`` from a worker: start the next queued task. ``Scan``: look for
        claimable work."""
        if isinstance(message, TaskDone):
            self._running.pop(message.task_id, None)
            self._finished(message.task_id)
            self._pump()
        elif isinstance(message, Scan):
            try:
                self._scan()
            except Exception:
                log.exception("looking for claimable search tasks failed; will retry")
        return None

    def stop_search(self, task_id: str | None) -> dict[str, Any]:
        """Cancel one task (queued or running) or all; running ones stop at the next step."""
        key = str(UUID(task_id)) if task_id else None
        cancelled, stopping = [], []
        for task in list(self._queue):
            if key is None or str(task.id) == key:
                self._queue.remove(task)
                task.cancelled(reason="stopped by request before it ran")
                self._writer.save(task)
                cancelled.append(str(task.id))
                self._finished(str(task.id))
        for running_id, (_worker, token) in self._running.items():
            if key is None or running_id == key:
                token.cancel("stopped by request")
                stopping.append(running_id)
        if key is not None and not cancelled and not stopping:
            # pending on record only (left by a stopped host): cancel it there
            pending = self._writer.load(SearchTask, UUID(key))
            if pending is None or pending.finished:
                raise ValidationError(f"no queued or running search task {task_id}",
                                      field="task_id")
            pending.cancelled(reason="stopped by request before it ran")
            self._writer.save(pending)
            cancelled.append(key)
        return {"cancelled": cancelled, "stopping": stopping}

    def active(self) -> dict[str, int]:
        """Queued and running task counts."""
        return {"queued": len(self._queue), "running": len(self._running)}

    def on_stop(self) -> None:
        """Interrupt running tasks (they stay pending on record and resume at the next
        host start, or on another host); queued tasks stay queued on record likewise."""
        self._stopping.set()
        if self._running:
            log.info("interrupting %d running searches (they resume at the next start)",
                     len(self._running))
        for _worker, token in self._running.values():
            token.cancel("host stopping", interrupted=True)
        for worker, _token in list(self._running.values()):
            try:
                worker.stop(block=True, timeout=120)
            except pykka.Timeout:
                log.warning("a search worker did not stop in time")
        for event in self._done.values():
            event.set()

