"""Creator checks outside a request: those a schedule's run queues (``CreatorCheckTask``)
and those a stopped host left unfinished, run in the background on the task runner
(``actors.task_runner``), as searches are.

At most ``workers`` checks run at once; a creator whose previous check is still queued or
running is not queued again. On a store several hosts share (``claims`` given) a check runs
where it is claimed, just before it runs: the host that fired the schedule usually, any other
host when that one is busy or dies (its lease runs out; see ``actors.claims``). A check is
finished in the same transaction as the creator's ``CreatorChecked``, so a check taken over
is recorded once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pykka

from actors.cancel import CancelToken
from actors.claims import ClaimHolder, ClaimLost, Claims
from actors.creator_check import CreatorCheck
from actors.creator_watch import CreatorWatchActor
from actors.task_runner import TaskRunner
from actors.writer import EventWriter
from domain import rules
from domain.creator import CreatorCheckTask
from domain.egress import EgressPolicy
from domain.errors import BaseError

log = logging.getLogger(__name__)

TIMEOUT = 60.0  # seconds for a call to the watch actor


class CreatorRunner:
    """Runs creator checks on the task runner, on record as ``CreatorCheckTask``s."""

    def __init__(self, check: CreatorCheck, watch: pykka.ActorProxy[CreatorWatchActor],
                 egress: EgressPolicy, workers: int, writer: EventWriter,
                 claims: Claims | None = None,
                 busy: Callable[[], set[str]] | None = None) -> None:
        """``busy``: ids of the creators with a check queued or running on any host (with
        ``claims``; alone, this runner knows)."""
        self._check = check
        self._busy = busy
        self._watch = watch
        self._egress = egress
        self._runner: TaskRunner[CreatorCheckTask] = TaskRunner(
            CreatorCheckTask, self._hold, writer, workers, "vipb-creator-check",
            lambda task: f"check of creator {task.name}", claims)

    # --- asked by requests and schedules -------------------------------------------------------

    def names(self, everyone: bool, names: list[str] | None,
              strict: bool = True) -> list[str]:
        """See ``CreatorWatchActor.names``."""
        found: list[str] = self._watch.names(everyone, names, strict).get(timeout=TIMEOUT)
        return found

    def check_now(self, name: str, profile: str, proxy: str,
                  country: str | None) -> dict[str, Any]:
        """Check the creator in the calling thread (the watch actor stays free) and record
        it there; the recorded check (``automation:check-creator``'s reply)."""
        shown, url = self._watch.target(name).get(timeout=TIMEOUT)
        rules.require_public_target(url, self._egress, "url")  # the policy may have changed
        result = self._check.run(url, f"creator {shown}", profile, proxy, country)
        recorded: dict[str, Any] = self._watch.record(shown, result).get(timeout=TIMEOUT)
        return recorded

    def prepare(self, everyone: bool, names: list[str] | None, profile: str, proxy: str,
                origin: str) -> list[CreatorCheckTask]:
        """One new check per creator a run checks (every enabled one, or the enabled ones
        of ``names`` that exist), not saved yet; a creator whose previous check is still
        queued or running (on any host) is passed over."""
        targets: list[tuple[str, str]] = self._watch.check_targets(
            everyone, names).get(timeout=TIMEOUT)
        busy = self._busy_creators() if targets else set()
        tasks = []
        for creator_id, name in targets:
            if creator_id in busy:
                log.info("creator %s: its previous check is still queued or running; "
                         "not queued again", name)
                continue
            tasks.append(CreatorCheckTask(id=uuid.uuid4(), creator_id=creator_id, name=name,
                                          origin=origin, profile=profile, proxy=proxy))
        return tasks

    def _busy_creators(self) -> set[str]:
        if self._busy is not None:
            return self._busy()
        return {task.creator_id for task in self._runner.tasks()}

    def accept(self, tasks: list[CreatorCheckTask]) -> list[str]:
        """Run checks queued on record (saved by the caller with the run that queued
        them); returns the names of those this host will run or try to claim."""
        return [task.name for task in tasks if self._runner.submit(task)]

    def resume(self, task_ids: list[str]) -> int:
        """Run the unfinished checks a previous host left (the host does this at start;
        on a shared store those another host holds are passed over when claimed)."""
        return self._runner.resume(task_ids)

    def active(self) -> int:
        """Checks queued or running on this host."""
        return sum(self._runner.counts())

    def idle(self, timeout: float) -> bool:
        """Wait until no check is queued or running here (False: ``timeout`` seconds passed
        first)."""
        return self._runner.idle(timeout)

    # --- running (the task runner's job) -------------------------------------------------------

    def _hold(self, holder: ClaimHolder[CreatorCheckTask], _token: CancelToken) -> None:
        """Run one check (the host stopping is told through ``CreatorCheck.stop``)."""
        try:
            self._perform(holder)
        except ClaimLost:
            raise
        except Exception:  # the host's parts stopped under the check, or a bug
            if not self._check.stopping:
                raise
            self._let_go(holder)

    def _perform(self, holder: ClaimHolder[CreatorCheckTask]) -> None:
        """Check the creator and record it with the task's outcome; a check ended by the
        host stopping records nothing (released on a shared store: another host checks)."""
        task = holder.task
        target = self._watch.target_of(task.creator_id).get(timeout=TIMEOUT)
        if target is None or not target[2]:
            why = "removed" if target is None else "disabled"
            holder.commit(lambda t: t.finished_with(
                outcome="skipped", note=f"the creator was {why} before it was checked"))
            return
        name, url, _enabled = target
        try:
            rules.require_public_target(url, self._egress, "url")
        except BaseError as exc:
            refused = exc.message
            holder.commit(lambda t: t.finished_with(outcome="skipped", note=refused))
            return
        try:
            result = self._check.run(
                url, f"creator {name}", task.profile, task.proxy, None,
                first=task.attempts + 1,
                before=lambda n: holder.commit(lambda t: t.started(attempt=n)))
        except ClaimLost:
            raise
        except Exception as exc:
            if self._check.stopping:
                raise  # let go of (see _hold)
            log.exception("check of creator %s: unexpected error", name)
            error = f"internal error: {type(exc).__name__}: {exc}"
            holder.commit(lambda t: t.finished_with(outcome="failed", note=error))
            return
        if self._check.stopping and not result.reachable:
            self._let_go(holder)
            return
        with holder.holding() as held:
            self._watch.record(name, result, held).get(timeout=TIMEOUT)

    @staticmethod
    def _let_go(holder: ClaimHolder[CreatorCheckTask]) -> None:
        """The host stops before the check has an outcome: it stays unfinished on record,
        checked again at the next start, or released for another host to check at once."""
        if holder.lease is not None:
            host = holder.lease.host_id
            holder.commit(lambda t: t.released(host_id=host, reason="host stopping"))

    def start_scanning(self) -> None:
        """On a shared store: look for claimable checks now and then (a host does; a CLI
        process only runs what it queued itself)."""
        self._runner.start_scanning()

    def close(self) -> None:
        """Drop checks not started; running ones stop retrying and record nothing if they
        fail now (their tabs close with the host; they are checked again at the next start,
        or at once by another host: released). ``idle`` waits for them."""
        self._check.stop()
        self._runner.close(wait=False)
