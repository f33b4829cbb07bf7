"""The scheduler actor alone, on fakes that subclass its real ports (the event writer and the
rank tracker) and a clock the test moves: when a schedule fires, what a down host owes,
pause/resume without piling events, and a refused queue recorded as the run's note."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pykka
import pytest

from actors.creator_runner import CreatorRunner
from actors.rank_tracker import RankTrackerActor
from actors.scheduler import MAX_SLEEP, SchedulerActor
from adapters.config import Settings
from domain.creator import CreatorCheckTask
from domain.errors import AutomationError, ValidationError
from domain.parsing import parse_command
from domain.rank import Schedule, SearchTask
from domain.rank_commands import CreateSchedule, StartSearch
from tests.helpers import MemoryWriter

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


class FakeTracker(RankTrackerActor):
    """The tracker's calls the scheduler makes, answered from a script: it records what was
    asked and refuses when told to."""

    def __init__(self, writer: MemoryWriter) -> None:
        super().__init__(writer, lambda: None, lambda: None,  # type: ignore[arg-type,return-value]
                         Settings())
        self.asked: list[tuple[StartSearch, str, list[str] | None, bool]] = []
        self.refusal: str | None = None

    def tracked(self, keywords: list[str] | None) -> list[dict[str, Any]]:
        """Every keyword asked for is tracked."""
        return [{"keyword": k} for k in keywords or []]

    def prepare_search(self, command: StartSearch, origin: str = "manual",
                       keywords: list[str] | None = None,
                       skip_if_pending: bool = False) -> list[SearchTask]:
        """One task per call, unless refusing."""
        self.asked.append((command, origin, keywords, skip_if_pending))
        if self.refusal is not None:
            raise AutomationError(self.refusal)
        return [SearchTask(id=uuid.uuid4(), keyword="k", engine="duckduckgo", country=None,
                           depth=10, domains={"example.com": False}, origin=origin,
                           profile=command.profile, proxy=command.proxy)]

    def accept(self, tasks: list[SearchTask]) -> list[dict[str, Any]]:
        """Tasks are on record: nothing runs them here."""
        return [{"id": str(t.id), "keyword": t.keyword} for t in tasks]

    def refuse(self, reason: str | None) -> None:
        """Refuse (or stop refusing) the next queues."""
        self.refusal = reason

    def calls(self) -> list[tuple[StartSearch, str, list[str] | None, bool]]:
        """What was asked so far."""
        return list(self.asked)


class Clock:
    """Time as the test sets it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def parts() -> Iterator[tuple[Any, Any, MemoryWriter, Clock]]:
    writer, clock = MemoryWriter(), Clock()
    tracker = FakeTracker.start(writer).proxy()
    scheduler = SchedulerActor.start(writer, tracker, lambda: [], clock).proxy()
    yield scheduler, tracker, writer, clock
    pykka.ActorRegistry.stop_all()


def _create(scheduler: Any, **fields: Any) -> dict[str, Any]:
    command = parse_command(CreateSchedule, {"name": "nightly", "cron": "0 6 * * *", **fields})
    created: dict[str, Any] = scheduler.create(command).get()
    return created


def test_a_schedule_fires_once_per_due_time_and_a_down_host_owes_one_run(parts: Any) -> None:
    scheduler, tracker, writer, clock = parts
    created = _create(scheduler, profile="berlin", proxy="direct")
    assert created["next_run_at"] == "2026-12-01T06:00:00+00:00"
    assert scheduler.tick().get() == []  # 05:00: not due
    assert scheduler.seconds_to_next().get() == min(3600.0, MAX_SLEEP)  # re-checked often

    clock.now = T0 + timedelta(hours=1, seconds=30)
    assert scheduler.tick().get() == ["nightly"]
    assert scheduler.tick().get() == []  # fired once for 06:00
    [(command, origin, keywords, skip)] = tracker.calls().get()
    assert (command.profile, command.proxy, origin, keywords, skip) == (
        "berlin", "direct", "schedule:nightly", None, True)
    [fired] = writer.named("ScheduleTriggered")
    assert (fired.scheduled_for, fired.missed, fired.note) == (T0 + timedelta(hours=1), 0, None)
    assert len(fired.task_ids) == 1

    clock.now = T0 + timedelta(days=3, hours=2)  # down over three 06:00s
    assert scheduler.tick().get() == ["nightly"]
    latest = writer.named("ScheduleTriggered")[-1]
    assert (latest.scheduled_for, latest.missed) == (T0 + timedelta(days=3, hours=1), 2)
    assert len(tracker.calls().get()) == 2
    reloaded = writer.load(Schedule, uuid.UUID(created["id"]))
    assert reloaded is not None and reloaded.next_run() == T0 + timedelta(days=4, hours=1)


def test_pause_and_resume_record_changes_only_and_owe_nothing_for_the_pause(
        parts: Any) -> None:
    scheduler, tracker, writer, clock = parts
    _create(scheduler)
    assert scheduler.pause("NIGHTLY").get().changed  # names are case-insensitive
    assert not scheduler.pause("nightly").get().changed
    assert len(writer.named("SchedulePaused")) == 1
    clock.now = T0 + timedelta(days=2)
    assert scheduler.tick().get() == []  # paused: nothing fires
    assert scheduler.upcoming().get() == []
    assert scheduler.resume("nightly").get().changed
    assert not scheduler.resume("nightly").get().changed
    assert len(writer.named("ScheduleResumed")) == 1
    assert scheduler.tick().get() == []  # the runs while paused are not owed
    assert tracker.calls().get() == []
    assert scheduler.upcoming().get() == [
        {"name": "nightly", "next_run_at": "2026-12-03T06:00:00+00:00", "timezone": "UTC"}]


def test_a_refused_queue_is_the_runs_note_and_unknown_names_are_refused(parts: Any) -> None:
    scheduler, tracker, writer, clock = parts
    _create(scheduler)
    tracker.refuse("no target domains: add one first").get()
    clock.now = T0 + timedelta(hours=1)
    assert scheduler.tick().get() == ["nightly"]
    [fired] = writer.named("ScheduleTriggered")
    assert (fired.task_ids, fired.note) == ([], "no target domains: add one first")
    with pytest.raises(ValidationError, match="no schedule named 'weekly'"):
        scheduler.pause("weekly").get()
    with pytest.raises(ValidationError, match="a schedule named 'nightly' exists"):
        _create(scheduler)
    assert len(writer.named("ScheduleCreated")) == 1


class FakeRunner(CreatorRunner):
    """The runner's two calls, answered from a list of creators; records what it started."""

    def __init__(self, creators: dict[str, bool]) -> None:  # name -> enabled
        self.creators = creators
        self.started: list[tuple[list[str], str, str]] = []

    def names(self, everyone: bool, names: list[str] | None,
              strict: bool = True) -> list[str]:
        """Every enabled one, or the named (unknown: refused when strict, else skipped;
        disabled: skipped)."""
        if everyone:
            return [n for n, on in self.creators.items() if on]
        for name in names or []:
            if name not in self.creators and strict:
                raise ValidationError(f"no creator named {name!r}", field="name")
        return [n for n in names or [] if self.creators.get(n)]

    def prepare(self, everyone: bool, names: list[str] | None, profile: str, proxy: str,
                origin: str) -> list[CreatorCheckTask]:
        """A check of each creator the run checks."""
        return [CreatorCheckTask(id=uuid.uuid4(), creator_id=f"id-{name}", name=name,
                                 origin=origin, profile=profile, proxy=proxy)
                for name in self.names(everyone, names, strict=False)]

    def accept(self, tasks: list[CreatorCheckTask]) -> list[str]:
        """Record the start."""
        self.started.append(([t.name for t in tasks], tasks[0].profile, tasks[0].proxy))
        return [t.name for t in tasks]


def test_schedules_check_creators_and_may_search_nothing(parts: Any) -> None:
    _scheduler, tracker, writer, clock = parts
    runner = FakeRunner({"jane": True, "joe": False, "ann": True})
    scheduler = SchedulerActor.start(writer, tracker, lambda: [], clock, runner).proxy()
    with pytest.raises(ValidationError, match="no creator named 'nobody'"):
        _create(scheduler, name="x", creators=["nobody"])
    _create(scheduler, name="everyone", all_creators=True, searches=False, profile="berlin")
    _create(scheduler, name="some", creators=["joe", "jane"])
    runner.creators["bob"] = True
    _create(scheduler, name="gone", creators=["bob"], searches=False)
    del runner.creators["bob"]  # removed after the schedule was made: passed over
    clock.now = T0 + timedelta(hours=1)
    assert sorted(scheduler.tick().get()) == ["everyone", "gone", "some"]
    assert sorted(runner.started) == [(["jane"], "default", "auto"),
                                      (["jane", "ann"], "berlin", "auto")]
    queued = [(e.name, e.origin) for e in writer.named("CreatorCheckQueued")]
    assert sorted(queued) == [("ann", "schedule:everyone"), ("jane", "schedule:everyone"),
                              ("jane", "schedule:some")]  # on record with their runs
    [(_, origin, _, _)] = tracker.calls().get()  # "everyone" searches nothing
    assert origin == "schedule:some"
    fired = {e.originator_id: e for e in writer.named("ScheduleTriggered")}
    assert sorted(e.creators for e in fired.values()) == [[], ["jane"], ["jane", "ann"]]
