"""Cron schedules on a real store with a controlled clock: firing, missed runs owed once,
pause/resume/remove, validation at the boundary, and the read models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pykka
import pytest

from adapters.store import EventHistory
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import RANK_TABLES, VIEW_TABLES, call, dump_views, refuse
from tests.pg import BOTH_STORES

TABLES = VIEW_TABLES + RANK_TABLES

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC).timestamp()


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rt(data_dir, clock) -> Iterator[Runtime]:
    runtime = bootstrap(data_dir, clock=clock)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def _triggers(rt: Runtime) -> list[dict]:
    return [e.data for e in EventHistory(rt.app).log(limit=10_000)
            if e.event == "ScheduleTriggered"]


def _when(trigger: dict) -> datetime:
    value = trigger["scheduled_for"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@BOTH_STORES
def test_a_schedule_fires_when_due_and_owes_missed_runs_once(rt, clock) -> None:
    created = call(rt, "automation:schedule", name="hourly", cron="0 * * * *")
    assert created["next_run_at"] is not None
    assert rt.scheduler.tick().get() == [], "nothing due before the first cron time"
    clock.now = T0 + 30 * 60 + 5  # 10:00:05
    assert rt.scheduler.tick().get() == ["hourly"]
    assert rt.scheduler.tick().get() == [], "fired once for 10:00"
    clock.now = T0 + 4 * 3600  # 13:30: 11:00, 12:00 and 13:00 missed
    assert rt.scheduler.tick().get() == ["hourly"]
    first, second = _triggers(rt)
    assert (first["missed"], second["missed"]) == (0, 2)
    assert _when(second) == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert "no target domains" in second["note"], "why nothing was queued is on record"
    rt.settle()
    with rt.reader() as conn:
        row = conn.execute("SELECT triggers, next_run_at, state FROM schedules").fetchone()
        logs = conn.execute("SELECT missed, tasks FROM execution_logs ORDER BY 1").fetchall()
    assert tuple(row) == (2, "2026-11-25T14:00:00+00:00", "active")
    assert [tuple(r) for r in logs] == [(0, 0), (2, 0)]
    assert rt.scheduler.upcoming(5).get() == [
        {"name": "hourly", "next_run_at": "2026-11-25T14:00:00+00:00", "timezone": "UTC"}]


@BOTH_STORES
def test_pause_skips_runs_and_resume_starts_from_now(rt, clock) -> None:
    call(rt, "automation:schedule", name="daily", cron="0 6 * * *", timezone="Europe/Berlin")
    call(rt, "automation:pause", name="daily")
    clock.now = T0 + 3 * 86400
    assert rt.scheduler.tick().get() == []
    assert rt.scheduler.upcoming(5).get() == []
    call(rt, "automation:resume", name="DAILY")  # names are case-insensitive
    assert rt.scheduler.tick().get() == [], "runs missed while paused are not owed"
    clock.now += 86400
    assert rt.scheduler.tick().get() == ["daily"]
    [trigger] = _triggers(rt)
    assert trigger["missed"] == 0
    assert _when(trigger) == datetime(2026, 11, 29, 5, 0, tzinfo=UTC), \
        "06:00 in Berlin is 05:00 UTC in November"


@BOTH_STORES
def test_run_now_runs_a_paused_schedule_and_leaves_its_cron_runs_alone(rt, clock) -> None:
    call(rt, "automation:schedule", name="hourly", cron="0 * * * *")
    call(rt, "automation:pause", name="hourly")
    ran = call(rt, "automation:run-schedule", name="HOURLY")
    assert (ran["name"], ran["tasks"]) == ("hourly", [])
    assert "no target domains" in ran["note"], "why nothing was queued is said and recorded"
    [request] = [e.data for e in EventHistory(rt.app).log(limit=10_000)
                 if e.event == "ScheduleRunOnRequest"]
    assert request["note"] == ran["note"] and request["task_ids"] == []
    call(rt, "automation:resume", name="hourly")
    clock.now = T0 + 30 * 60 + 5  # 10:00:05: the cron run is still due, as if never run
    assert rt.scheduler.tick().get() == ["hourly"]
    rt.settle()
    with rt.reader() as conn:
        logs = conn.execute("SELECT on_request, missed, tasks FROM execution_logs "
                            "ORDER BY notification_id").fetchall()
        row = conn.execute("SELECT triggers, next_run_at FROM schedules").fetchone()
    assert [tuple(r) for r in logs] == [(1, 0, 0), (0, 0, 0)]
    assert tuple(row) == (2, "2026-11-25T11:00:00+00:00")
    call(rt, "automation:remove-schedule", name="hourly")
    assert "hourly" in refuse(rt, "automation:run-schedule", name="hourly")


@BOTH_STORES
def test_removed_schedule_stops_and_its_name_is_free_again(rt, clock) -> None:
    call(rt, "automation:schedule", name="s1", cron="*/5 * * * *")
    assert "exists" in refuse(rt, "automation:schedule", name="S1", cron="0 * * * *")
    call(rt, "automation:remove-schedule", name="s1")
    clock.now += 3600
    assert rt.scheduler.tick().get() == []
    call(rt, "automation:schedule", name="s1", cron="0 * * * *")
    names = [(s["name"], s["state"]) for s in call(rt, "automation:list-schedules",
                                                   include_removed=True)]
    assert sorted(names) == [("s1", "active"), ("s1", "removed")]


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "x", "cron": "61 * * * *"}, "cron"),
    ({"name": "x", "cron": "* *"}, "cron"),
    ({"name": "x", "cron": "0 6 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "<script>", "cron": "0 6 * * *"}, "name"),
    ({"name": "x", "cron": "0 6 * * *", "keywords": ["not tracked"]}, "keywords"),
    ({"name": "x", "cron": "0 6 * * *", "every": "day"}, "every"),
])
@BOTH_STORES
def test_bad_schedules_are_refused_with_the_field_and_nothing_is_written(
        rt, payload, field) -> None:
    before = rt.app.recorder.max_notification_id()
    error = refuse(rt, "automation:schedule", **payload)
    assert error.startswith(field) and "\n" not in error
    assert rt.app.recorder.max_notification_id() == before


@pytest.mark.parametrize(("channel", "payload", "field"), [
    ("automation:add-domain", {"domain": "http://example.com/"}, "domain"),
    ("automation:add-domain", {"domain": "10.0.0.1"}, "domain"),
    ("automation:add-domain", {"domain": "localhost"}, "domain"),
    ("automation:add-keyword", {"keyword": "x" * 201}, "keyword"),
    ("automation:add-keyword", {"keyword": "<img src=x onerror=alert(1)>"}, "keyword"),
    ("automation:add-keyword", {"keyword": "k", "engine": "altavista"}, "engine"),
    ("automation:add-keyword", {"keyword": "k", "depth": 0}, "depth"),
    ("automation:add-keyword", {"keyword": "k", "country": "Germany"}, "country"),
    ("automation:start-search", {"keyword": "k", "wait": True}, "wait"),
    ("automation:get-results", {"task_ids": []}, "task_ids"),
    ("automation:stop-search", {"task_id": "'; DROP TABLE"}, "task_id"),
    ("automation:remove-domain", {"domain": "never-added.example"}, "domain"),
])
@BOTH_STORES
def test_bad_automation_input_is_refused_at_the_boundary(rt, channel, payload,
                                                         field) -> None:
    before = dump_views(rt, TABLES), rt.app.recorder.max_notification_id()
    error = refuse(rt, channel, **payload)
    assert error.startswith(field) and "\n" not in error
    rt.settle()
    assert (dump_views(rt, TABLES), rt.app.recorder.max_notification_id()) == before


@BOTH_STORES
def test_searching_without_targets_says_what_to_do(rt) -> None:
    assert "no target domains" in refuse(rt, "automation:start-search", keyword="k")
    call(rt, "automation:add-domain", domain="example.com")
    assert "no tracked keywords" in refuse(rt, "automation:start-search")


@BOTH_STORES
def test_targets_survive_a_restart_and_rebuild_the_same(data_dir, clock) -> None:
    rt = bootstrap(data_dir, clock=clock)
    try:
        call(rt, "automation:add-domain", domain="www.Example.com")
        call(rt, "automation:add-domain", domain="other.example", include_subdomains=False)
        call(rt, "automation:add-keyword", keyword="  best   coffee ", engine="bing",
             country="de", depth=50)
        call(rt, "automation:add-keyword", keyword="tea")
        call(rt, "automation:remove-keyword", keyword="tea")
        call(rt, "automation:schedule", name="m", cron="0 6 * * *", keywords=["Best Coffee"])
    finally:
        rt.close()
    rt = bootstrap(data_dir, clock=clock)
    try:
        domains = call(rt, "automation:list-domains")
        assert [(d["domain"], d["include_subdomains"]) for d in domains] == [
            ("example.com", True), ("other.example", False)]
        [keyword] = call(rt, "automation:list-keywords")
        assert (keyword["keyword"], keyword["engine"], keyword["country"], keyword["depth"]) \
            == ("best coffee", "bing", "DE", 50)
        assert rt.tracker.targets().get().domains == {"example.com": True,
                                                       "other.example": False}
        assert "exists" in refuse(rt, "automation:schedule", name="M", cron="0 7 * * *")
        before = dump_views(rt, TABLES)
        rt.runner.rebuild()
        assert dump_views(rt, TABLES) == before
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _search_tasks(rt: Runtime) -> int:
    rt.settle()
    with rt.reader() as conn:
        count: int = conn.execute("SELECT COUNT(*) FROM search_tasks").fetchone()[0]
    return count


@BOTH_STORES
def test_engine_urls_obey_the_ssrf_rule(data_dir) -> None:
    from adapters.config import Settings

    settings = Settings(data_dir=data_dir,
                        engine_urls={"bing": "http://169.254.169.254/search"})
    rt = bootstrap(data_dir, settings=settings)
    try:
        call(rt, "automation:add-domain", domain="example.com")
        error = refuse(rt, "automation:start-search", keyword="k", engine="bing")
        assert error == ("engine_urls.bing: 169.254.169.254 is a link-local address (cloud "
                         "metadata lives there) (allow_private_targets is off)")
        assert _search_tasks(rt) == 0
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _run_night(rt, clock, start: datetime, hours: float, step_minutes: int = 5
               ) -> list[datetime]:
    """Tick the scheduler every ``step_minutes`` of real (UTC) time for ``hours``; return
    the fire times on record."""
    clock.now = start.timestamp()
    for _ in range(int(hours * 60) // step_minutes):
        clock.now += step_minutes * 60
        rt.scheduler.tick().get()
    return [_when(t) for t in _triggers(rt)]


@pytest.mark.parametrize(("zone", "cron", "start", "expected"), [
    # Autumn, Europe/Berlin: 02:00-03:00 happens twice on 2026-10-25.
    ("Europe/Berlin", "30 2 * * *", datetime(2026, 10, 24, 20, tzinfo=UTC),
     ["2026-10-25T00:30", "2026-10-26T01:30"]),  # once, at the first 02:30; next day CET
    ("Europe/Berlin", "0 * * * *", datetime(2026, 10, 24, 22, 30, tzinfo=UTC),
     ["2026-10-24T23:00", *(f"2026-10-25T{h:02}:00" for h in range(5))]),  # each real hour
    # Spring, Europe/Berlin: 02:00-03:00 does not exist on 2026-03-29.
    ("Europe/Berlin", "30 2 * * *", datetime(2026, 3, 28, 20, tzinfo=UTC),
     ["2026-03-29T01:00", "2026-03-30T00:30"]),  # once, right after the gap (03:00 CEST)
    ("Europe/Berlin", "0 * * * *", datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
     ["2026-03-28T23:00", *(f"2026-03-29T{h:02}:00" for h in range(5))]),
    # A zone that moves by 30 minutes: Lord Howe Island (+10:30 / +11:00).
    ("Australia/Lord_Howe", "45 1 * * *", datetime(2026, 4, 4, 12, tzinfo=UTC),
     ["2026-04-04T14:45", "2026-04-05T15:15"]),  # 01:45 shown twice: fires once
    ("Australia/Lord_Howe", "*/20 * * * *", datetime(2026, 4, 4, 14, 10, tzinfo=UTC),
     ["2026-04-04T14:20", "2026-04-04T14:40", "2026-04-04T15:10", "2026-04-04T15:30",
      "2026-04-04T15:50"]),  # the repeated 01:40 fires again at 15:10 UTC
    ("Australia/Lord_Howe", "15 2 * * *", datetime(2026, 10, 3, 12, tzinfo=UTC),
     ["2026-10-03T15:30", "2026-10-04T15:15"]),  # 02:15 skipped (02:00 -> 02:30)
])
@BOTH_STORES
def test_daylight_saving_changes_fire_each_schedule_the_right_number_of_times(
        rt, clock, zone, cron, start, expected) -> None:
    clock.now = start.timestamp()
    call(rt, "automation:schedule", name="dst", cron=cron, timezone=zone)
    hours = 1.75 if cron.startswith("*/20") else 6 if "*" in cron.split()[1] else 30
    fired = _run_night(rt, clock, start, hours)
    assert [f.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for f in fired] == expected
    assert all(t["missed"] == 0 for t in _triggers(rt)), "ticked often enough: none missed"


@BOTH_STORES
def test_an_unknown_profile_is_refused_when_queued_not_retried(data_dir) -> None:
    """`rank run --profile nope` used to queue a search that failed three times over."""
    from adapters.config import Settings

    rt = bootstrap(data_dir, settings=Settings(data_dir=data_dir))
    try:
        call(rt, "automation:add-domain", domain="example.com")
        reply = rt.dispatcher.dispatch("automation:start-search",
                                       {"keyword": "espresso", "profile": "nope"})
        assert reply["success"] is False and reply["code"] == "profile_not_found"
        assert reply["error"] == "no privacy profile 'nope' (see `vipb privacy list`)"
        assert _search_tasks(rt) == 0
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


@BOTH_STORES
def test_creators_of_a_schedule_are_checked_when_named_and_passed_over_once_removed(
        runtime: Runtime) -> None:
    call(runtime, "automation:add-creator", name="jane", url="https://example.com/@jane")
    call(runtime, "automation:add-creator", name="joe", url="https://example.com/@joe",
         enabled=False)
    error = refuse(runtime, "automation:schedule", name="s", cron="0 6 * * *",
                   creators=["nobody"], searches=False)
    assert error == "name: no creator named 'nobody' (see `vipb creator list`)"
    call(runtime, "automation:schedule", name="s", cron="0 6 * * *", creators=["jane", "joe"],
         searches=False)
    assert runtime.creators.names(False, ["JANE", "joe"]).get() == ["jane"]  # joe: disabled
    call(runtime, "automation:remove-creator", name="jane")
    assert runtime.creators.names(False, ["jane", "joe"], strict=False).get() == []
    with pytest.raises(Exception, match="no creator named 'jane'"):
        runtime.creators.names(False, ["jane"]).get()


@BOTH_STORES
def test_two_writers_adding_keywords_at_once_both_succeed(data_dir: Path) -> None:
    """Adding keywords commutes: a version conflict on the shared targets is retried on a
    fresh load, not handed to the user (issue 30, point 7: 9-39% of adds failed with
    "another writer changed the same record first" when two hosts added at once)."""
    one, two = bootstrap(data_dir), bootstrap(data_dir)
    errors: list[str] = []

    def add(rt: Runtime, prefix: str) -> None:
        for i in range(15):
            reply = rt.dispatcher.dispatch("automation:add-keyword",
                                           {"keyword": f"{prefix} {i}"})
            if not reply["success"]:
                errors.append(reply["error"])

    try:
        threads = [threading.Thread(target=add, args=(rt, f"{name}{n}"))
                   for rt, name in ((one, "a"), (two, "b")) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        two.settle()
        tracked = {k["keyword"] for k in call(two, "automation:list-keywords")}
    finally:
        one.close()
        two.close()
    assert errors == []
    assert len(tracked) == 90
