"""Projections on real SQLite files: resume, no double counting, rebuild == incremental."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.store import ShreddedEventError
from domain.commands import SetRotation, UpdateProxy
from domain.errors import DatabaseError
from domain.parsing import parse_command
from projections import ALL_VIEWS, ProjectionRunner
from service.runtime import Runtime
from tests.helpers import add_cmd, dump_views


def workload(rt: Runtime, n: int = 30) -> None:
    ids = [rt.dispatcher.execute(add_cmd(2000 + i, f"user{i}", f"pw{i}")).id for i in range(n)]
    for i, proxy_id in enumerate(ids[::3]):
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                          "weight": i + 2}))
    rt.dispatcher.execute(parse_command(SetRotation, {"strategy": "weighted"}))


def runner_for(rt: Runtime, path: Path, batch: int) -> ProjectionRunner:
    return ProjectionRunner(rt.app.recorder, rt.app.shredding_mapper.decode_state,
                            ShreddedEventError, path, [v() for v in ALL_VIEWS], batch_size=batch)


def test_resume_mid_way_without_double_counting(runtime: Runtime, tmp_path: Path) -> None:
    workload(runtime)
    head = runtime.app.recorder.max_notification_id()
    path = tmp_path / "resumed.sqlite"
    first = runner_for(runtime, path, batch=7)
    for _ in range(3):
        first.run_batch()
    assert {s.position for s in first.status()} == {21}
    first.stop()  # "crash" between batches: nothing half-written survives
    second = runner_for(runtime, path, batch=7)
    second.catch_up()
    assert {s.position for s in second.status()} == {head}
    second.stop()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM activity_logs").fetchone()[0] == head
    conn.close()
    runtime.settle()
    assert dump_views(path) == dump_views(runtime.paths.views)


def test_rebuild_equals_incremental(runtime: Runtime) -> None:
    workload(runtime, 12)
    runtime.settle()
    incremental = dump_views(runtime.paths.views)
    assert len(incremental["proxies"]) == 12
    runtime.runner.rebuild()
    assert dump_views(runtime.paths.views) == incremental
    runtime.runner.rebuild(["activity"])
    assert dump_views(runtime.paths.views) == incremental


def test_a_stale_runner_cannot_apply_a_batch_twice(runtime: Runtime, tmp_path: Path) -> None:
    workload(runtime, 5)
    path = tmp_path / "shared.sqlite"
    a = runner_for(runtime, path, batch=4)
    b = runner_for(runtime, path, batch=4)
    a.run_batch()
    # b reads its positions inside its own transaction, so it continues after a's batch
    b.run_batch()
    assert {s.position for s in b.status()} == {8}
    # a tracking row moved behind a runner's back is detected by the compare-and-set
    conn = sqlite3.connect(path)
    conn.execute("UPDATE projection_tracking SET position=position WHERE view='proxies'")
    conn.commit()
    conn.close()
    a.catch_up()
    b.catch_up()
    conn = sqlite3.connect(path)
    head = runtime.app.recorder.max_notification_id()
    assert conn.execute("SELECT COUNT(*) FROM activity_logs").fetchone()[0] == head
    conn.close()
    a.stop()
    b.stop()


def test_tracking_compare_and_set_refuses_a_moved_position(runtime: Runtime,
                                                           tmp_path: Path) -> None:
    workload(runtime, 3)
    runner = runner_for(runtime, tmp_path / "cas.sqlite", batch=100)
    cur = runner._conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseError, match="advanced by another runner"):
        ProjectionRunner._advance(cur, "proxies", expected=5, new=9, skipped=0)
    cur.execute("ROLLBACK")
    runner.stop()


def test_status_reports_lag_until_caught_up(runtime: Runtime) -> None:
    workload(runtime, 4)
    head = runtime.app.recorder.max_notification_id()
    assert [s.lag for s in runtime.runner.status()] == [head] * len(runtime.runner.status())
    runtime.settle()
    assert all(s.lag == 0 and s.head == head for s in runtime.runner.status())


def test_unknown_view_rebuild_is_refused(runtime: Runtime) -> None:
    with pytest.raises(DatabaseError, match="unknown view"):
        runtime.runner.rebuild(["nope"])


def test_background_runner_catches_up_after_commits(runtime: Runtime) -> None:
    runtime.runner.start()
    ack = runtime.dispatcher.execute(add_cmd(4444))
    assert runtime.runner.wait_for(ack.position, timeout=30)
    with runtime.reader() as conn:
        assert conn.execute("SELECT COUNT(*) FROM proxies").fetchone()[0] == 1
