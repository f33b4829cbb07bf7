"""The write side finds its aggregates in the event store, never in the read models: a
runtime opened without the rank and schedule read models still knows its schedules and its
unfinished searches (from the stored events' topics, nothing decrypted)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pykka

from domain.events import events_of
from domain.health import Failure, HealthReport
from domain.health_journal import HealthJournal
from domain.parsing import parse_command
from domain.rank import SearchTask
from domain.rank_commands import CreateSchedule, RemoveSchedule
from projections import ProxiesView, RotationView
from service.bootstrap import bootstrap


def _task(keyword: str) -> SearchTask:
    return SearchTask(id=uuid.uuid4(), keyword=keyword, engine="bing", country=None, depth=10,
                      domains={"example.com": True}, origin="manual", profile="default",
                      proxy="direct")


def test_schedules_and_unfinished_searches_come_from_the_events(data_dir: Path) -> None:
    rt = bootstrap(data_dir)
    try:
        for name in ("nightly", "weekly", "hourly"):
            rt.dispatcher.execute(parse_command(CreateSchedule, {"name": name,
                                                                 "cron": "0 6 * * *"}))
        rt.dispatcher.execute(parse_command(RemoveSchedule, {"name": "weekly"}))
        queued, done, cancelled, failed, retrying = (_task(k) for k in "abcde")
        done.completed(results_scanned=10, pages=1, ranked=0, features={}, no_results=False)
        cancelled.cancelled(reason="stopped by request")
        failed.failed(attempt=3, error="timeout", retry_in=None, reason="timeout")
        retrying.failed(attempt=1, error="timeout", retry_in=2.0, reason="timeout")
        rt.writer.save(queued, done, cancelled, failed, retrying)
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()

    for name in ("views.sqlite", "views.sqlite-wal", "views.sqlite-shm"):
        (data_dir / name).unlink(missing_ok=True)
    # only the proxies view: no schedules, tasks or tabs table exists in this runtime
    bare = bootstrap(data_dir, views=[ProxiesView()])
    try:
        names = [s["name"] for s in bare.scheduler.upcoming().get()]
        assert sorted(names) == ["hourly", "nightly"]
        (queued_event,) = events_of(SearchTask, "SearchTaskQueued")
        open_tasks = bare.app.event_log.originators(queued_event, events_of(
            SearchTask, "SearchTaskCompleted", "SearchTaskCancelled"))
        # in queue order; the one failed for good is loaded and skipped by the tracker
        assert open_tasks == [queued.id, failed.id, retrying.id]
        unfinished = [t for t in open_tasks
                      if (task := bare.writer.load(SearchTask, t)) and not task.finished]
        assert unfinished == [queued.id, retrying.id]
    finally:
        bare.close()
        pykka.ActorRegistry.stop_all()


def test_proxy_statuses_come_from_the_health_events(data_dir: Path) -> None:
    p, q = str(uuid.uuid4()), str(uuid.uuid4())
    rt = bootstrap(data_dir)
    try:
        journal = HealthJournal(day="2026-12-01")
        good, bad = HealthReport(ok=True, latency_ms=12.0, samples=1), \
            HealthReport(ok=False, failure=Failure.TIMEOUT, message="timed out")
        journal.record(p, good, "unknown")
        journal.record(p, bad, "active")
        journal.record(q, good, "unknown")
        journal.record(q, good, "active")  # no change: no event
        rt.writer.save(journal)
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    (data_dir / "views.sqlite").unlink()
    bare = bootstrap(data_dir, views=[RotationView()])  # no proxies table
    try:
        assert bare._statuses() == {p: "failed", q: "active"}
    finally:
        bare.close()
        pykka.ActorRegistry.stop_all()
