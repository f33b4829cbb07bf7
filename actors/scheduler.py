"""The ``SchedulerActor``: cron schedules that queue rank-tracking searches.

Only a running host ticks (``start_ticking``); elsewhere schedules are created, paused and
listed but never fire. A host that was down owes each schedule at most one run: the first
tick after start fires once for the latest missed time and records how many were missed
(like anacron), instead of replaying a backlog.

A run is one transaction: the schedule's ``ScheduleTriggered`` and the tasks it queues are
saved together, at the version of the schedule just read from the store. When several hosts
share the store (``shared``), each ticks; the first to save a run wins and the others get a
version conflict and drop theirs, so a schedule fires once per due time across the cluster.
They also follow the schedule events other hosts record (created, paused, removed, fired).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.creator_runner import CreatorRunner
from actors.follow import replace_cached
from actors.rank_tracker import RankTrackerActor
from actors.writer import EventWriter
from adapters.store import Subscription
from domain.creator import CreatorCheckTask
from domain.errors import BaseError, ConcurrencyError, ValidationError
from domain.events import events_of
from domain.keyword_names import fold_keyword
from domain.rank import Schedule, SearchTask
from domain.rank_commands import CreateSchedule, StartSearch
from domain.results import Ack
from domain.waits import idle_wait

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0  # the ticker re-checks at least this often (clock jumps, new schedules)
SCHEDULE_EVENTS = events_of(Schedule, "ScheduleCreated", "ScheduleTriggered",
                            "ScheduleRunOnRequest", "SchedulePaused", "ScheduleResumed",
                            "ScheduleRemoved")


@dataclass(frozen=True)
class Tick:
    """Told by the ticker thread: fire what is due."""


class SchedulerActor(VipbActor):
    """Schedules by name; fires due ones into the rank tracker."""

    def __init__(self, writer: EventWriter, tracker: pykka.ActorProxy[RankTrackerActor],
                 known_ids: Callable[[], list[str]],
                 clock: Callable[[], float] = time.time,
                 creators: CreatorRunner | None = None, shared: bool = False) -> None:
        super().__init__()
        self._shared = shared
        self._others: Subscription | None = None  # shared: schedule changes by any host
        self._writer = writer
        self._tracker = tracker
        self._creators = creators
        self._known_ids = known_ids
        self._clock = clock
        self._schedules: dict[str, Schedule] | None = None  # casefolded name -> schedule
        self._ticker: Ticker | None = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _all(self) -> dict[str, Schedule]:
        if self._schedules is None:
            if self._shared:
                self._others = self._writer.log.follow(SCHEDULE_EVENTS)
            self._schedules = {}
            for schedule_id in self._known_ids():
                schedule = self._writer.load(Schedule, UUID(schedule_id))
                if schedule is not None and not schedule.removed:
                    self._schedules[schedule.name.casefold()] = schedule
        elif self._shared:
            self._follow_others()
        return self._schedules

    def _follow_others(self) -> None:
        """Reload the schedules whose events were recorded since the last look (by any
        host; this one's own reloads cost one read each)."""
        assert self._others is not None
        for schedule_id in self._others.changed():
            self._reload(schedule_id)

    def _reload(self, schedule_id: UUID) -> Schedule | None:
        """The schedule as the store has it now (None: removed), cached by name."""
        assert self._schedules is not None
        return replace_cached(self._schedules, schedule_id,
                              self._writer.load(Schedule, schedule_id))

    def _get(self, name: str, field: str = "name") -> Schedule:
        schedule = self._all().get(name.casefold())
        if schedule is None:
            raise ValidationError(f"no schedule named {name!r} (see `vipb schedule list`)",
                                  field=field)
        return schedule

    def named(self, name: str, field: str = "name") -> str:
        """The schedule's name as it was created (raises a ValidationError on ``field``
        when there is none)."""
        return self._get(name, field).name

    # --- channels --------------------------------------------------------------------------------

    def create(self, command: CreateSchedule) -> dict[str, Any]:
        """Create a schedule; its first run is the first cron time after now."""
        schedules = self._all()
        if command.name.casefold() in schedules:
            raise ValidationError(f"a schedule named {command.name!r} exists; remove it "
                                  "first or pick another name", field="name")
        if command.keywords is not None:
            tracked = self._tracker.tracked(list(command.keywords)).get()
            known = {fold_keyword(e["keyword"]) for e in tracked}
            missing = [k for k in command.keywords if fold_keyword(k) not in known]
            if missing:
                raise ValidationError(f"{missing[0]!r} is not a tracked keyword (add it with "
                                      "vipb rank keyword add)", field="keywords")
        if command.creators is not None or command.all_creators:
            if self._creators is None:
                raise ValidationError("this runtime does not check creators", field="creators")
            self._creators.names(False, list(command.creators or ()))  # each must exist
        schedule = Schedule(id=uuid.uuid4(), name=command.name, cron=command.cron,
                            timezone=command.timezone,
                            keywords=list(command.keywords) if command.keywords else None,
                            profile=command.profile, proxy=command.proxy,
                            starts_at=self._now(), searches=command.searches,
                            creators=list(command.creators) if command.creators else None,
                            all_creators=command.all_creators)
        self._writer.save(schedule)
        schedules[command.name.casefold()] = schedule
        self._wake()
        return self.describe(schedule)

    def pause(self, name: str) -> Ack:
        """Pause a schedule."""
        schedule = self._get(name)
        schedule.pause()
        return self._save(schedule)

    def resume(self, name: str) -> Ack:
        """Resume a schedule: the next run is the first cron time after now."""
        schedule = self._get(name)
        schedule.resume(resumed_at=self._now())
        ack = self._save(schedule)
        self._wake()
        return ack

    def remove(self, name: str) -> Ack:
        """Remove a schedule."""
        schedule = self._get(name)
        schedule.remove()
        ack = self._save(schedule)
        self._all().pop(name.casefold(), None)  # (a follower may have dropped it already)
        return ack

    def _save(self, schedule: Schedule) -> Ack:
        ids = self._writer.save(schedule)
        return Ack.of(schedule.id, ids)

    def describe(self, schedule: Schedule) -> dict[str, Any]:
        """A schedule as the CLI shows it."""
        nxt = schedule.next_run()
        return {"id": str(schedule.id), "name": schedule.name, "cron": schedule.cron,
                "timezone": schedule.timezone, "keywords": schedule.keywords,
                "searches": schedule.searches,
                "creators": ["*"] if schedule.all_creators else schedule.creators,
                "state": "paused" if schedule.paused else "active",
                "next_run_at": nxt.astimezone(UTC).isoformat() if nxt else None}

    def using_profile(self, name: str) -> list[str]:
        """Names of the schedules whose searches use privacy profile ``name``."""
        return sorted(s.name for s in self._all().values()
                      if s.profile.casefold() == name.casefold())

    def upcoming(self, limit: int = 5) -> list[dict[str, Any]]:
        """The next runs, soonest first (what ``vipb status`` shows)."""
        rows = [self.describe(s) for s in self._all().values() if not s.paused]
        rows.sort(key=lambda r: r["next_run_at"])
        return [{"name": r["name"], "next_run_at": r["next_run_at"],
                 "timezone": r["timezone"]} for r in rows[:limit]]

    # --- firing ----------------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Fire every schedule that is due; returns their names."""
        now, fired = self._now(), []
        for schedule in list(self._all().values()):
            latest, missed = schedule.due(now)
            if latest is not None:
                self._fire(schedule, latest, missed)
                fired.append(schedule.name)
        return fired

    def _fire(self, schedule: Schedule, scheduled_for: datetime, missed: int) -> None:
        if self._shared:  # another host may have fired it already: decide on the store's
            fresh = self._reload(schedule.id)
            if fresh is None:
                return
            latest, missed = fresh.due(self._now())
            if latest is None:
                return
            schedule, scheduled_for = fresh, latest
        tasks, note = self._prepare(schedule)
        checks = self._prepare_checks(schedule)
        schedule.triggered(scheduled_for=scheduled_for, missed=missed,
                           task_ids=[str(t.id) for t in tasks], note=note,
                           creators=_names(checks))
        try:
            self._writer.save(*tasks, *(checks or ()), schedule)  # the run, or nothing of it
        except ConcurrencyError:
            if not self._shared:
                raise
            log.info("schedule %s: another host fired its %s run", schedule.name,
                     scheduled_for.isoformat())
            self._reload(schedule.id)
            return
        if note is not None:  # nobody waits for this answer: the log says it
            log.warning("schedule %s fired but queued nothing: %s", schedule.name, note)
        else:
            log.info("schedule %s: its %s run queued %d search(es)", schedule.name,
                     scheduled_for.isoformat(), len(tasks))
        if tasks:
            self._tracker.accept(tasks).get()
        self._start_checks(checks)

    def _prepare_checks(self, schedule: Schedule) -> list[CreatorCheckTask] | None:
        """The creator checks of a run, not saved yet (None: the schedule checks none)."""
        if not schedule.checks_creators or self._creators is None:
            return None
        return self._creators.prepare(schedule.all_creators, schedule.creators,
                                      schedule.profile, schedule.proxy,
                                      f"schedule:{schedule.name}")

    def _start_checks(self, checks: list[CreatorCheckTask] | None) -> None:
        """Run the run's creator checks in the background (once they are on record)."""
        if checks and self._creators is not None:
            self._creators.accept(checks)

    def run_now(self, name: str) -> dict[str, Any]:
        """Queue the schedule's searches now, paused or not; its next cron run is unchanged.
        Keywords already queued or running are not queued twice."""
        schedule = self._get(name)
        tasks, note = self._prepare(schedule)
        checks = self._prepare_checks(schedule)
        schedule.ran_on_request(at=self._now(), task_ids=[str(t.id) for t in tasks],
                                note=note, creators=_names(checks))
        ids = self._writer.save(*tasks, *(checks or ()), schedule)
        described = self._tracker.accept(tasks).get() if tasks else []
        self._start_checks(checks)
        return {"name": schedule.name, "tasks": described, "note": note,
                "position": ids[-1] if ids else 0}

    def _prepare(self, schedule: Schedule) -> tuple[list[SearchTask], str | None]:
        """The schedule's searches for a run (not saved yet), or why there are none."""
        if not schedule.searches:
            return [], None
        command = StartSearch(profile=schedule.profile, proxy=schedule.proxy)
        try:
            tasks: list[SearchTask] = self._tracker.prepare_search(
                command, f"schedule:{schedule.name}", schedule.keywords,
                skip_if_pending=True).get()
        except BaseError as exc:
            return [], exc.message
        return tasks, None

    def seconds_to_next(self) -> float:
        """Seconds until the soonest run (at most ``MAX_SLEEP``)."""
        now = self._now()
        waits = [(n - now).total_seconds() for s in self._all().values()
                 if (n := s.next_run()) is not None]
        return max(0.0, min([MAX_SLEEP, *waits]))

    def on_receive(self, message: Any) -> Any:
        """``Tick``: fire what is due, then tell the ticker how long to sleep."""
        if isinstance(message, Tick):
            try:
                self.tick()
            except Exception:
                log.exception("firing schedules failed; will retry at the next tick")
            if self._ticker is not None:
                self._ticker.sleep_for(self.seconds_to_next())
        return None

    def start_ticking(self) -> None:
        """Fire schedules from now on (the host calls this once)."""
        if self._ticker is None:
            self._ticker = Ticker(self.actor_ref)
            self._ticker.start()

    def _wake(self) -> None:
        if self._ticker is not None:
            self._ticker.sleep_for(0.0)

    def on_stop(self) -> None:
        """Stop the ticker thread."""
        if self._ticker is not None:
            self._ticker.stop()


def _names(checks: list[CreatorCheckTask] | None) -> list[str] | None:
    """The creators a run checks, as its event records them (None: it checks none)."""
    return None if checks is None else [check.name for check in checks]


class Ticker:
    """A thread that tells the scheduler ``Tick`` when the next run is due."""

    def __init__(self, ref: pykka.ActorRef[SchedulerActor]) -> None:
        self._ref = ref
        self._wake = threading.Event()
        self._delay = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="vipb-scheduler", daemon=True)

    def start(self) -> None:
        """Tick now, then whenever due."""
        self._thread.start()

    def sleep_for(self, seconds: float) -> None:
        """Tick after ``seconds`` (0: now)."""
        self._delay = seconds
        self._wake.set()

    def stop(self) -> None:
        """End the thread."""
        self._stopped = True
        self._wake.set()

    @idle_wait
    def _loop(self) -> None:
        delay = 0.0
        while not self._stopped:
            self._wake.clear()
            if delay > 0 and self._wake.wait(delay):
                delay = self._delay
                continue  # rescheduled (or stopped) before the time came
            try:
                self._ref.tell(Tick())
            except pykka.ActorDeadError:
                return
            self._wake.wait(MAX_SLEEP)  # the actor answers with sleep_for after each tick
            delay = self._delay
