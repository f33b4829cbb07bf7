"""Projections on real SQLite files and PostgreSQL schemas: resume, no double counting,
rebuild == incremental, compare-and-set tracking between runners."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from adapters.store import PostgresBackend, ShreddedEventError
from domain.commands import SetRotation, UpdateProxy
from domain.errors import DatabaseError
from domain.parsing import parse_command
from projections import ALL_VIEWS, ProjectionRunner
from projections.queries import connect_read_only
from projections.runner import connect_views_db
from service.runtime import Runtime
from tests.helpers import add_cmd, dump_views
from tests.pg import BOTH_STORES


def workload(rt: Runtime, n: int = 30) -> None:
    ids = [rt.dispatcher.execute(add_cmd(2000 + i, f"user{i}", f"pw{i}")).id for i in range(n)]
    for i, proxy_id in enumerate(ids[::3]):
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                          "weight": i + 2}))
    rt.dispatcher.execute(parse_command(SetRotation, {"strategy": "weighted"}))


def other_views(rt: Runtime, tmp_path: Path, name: str) -> Callable[[], Any]:
    """A second set of read models beside the runtime's (another SQLite file, or another
    schema in the same PostgreSQL database): a connection factory."""
    if isinstance(rt.store, PostgresBackend):
        location = dataclasses.replace(rt.store.location, schema=name)
        location.create_schemas()
        return lambda: location.connect("views")
    return lambda: connect_views_db(tmp_path / f"{name}.sqlite")


def runner_for(rt: Runtime, views: Callable[[], Any], batch: int) -> ProjectionRunner:
    return ProjectionRunner(rt.app.recorder, rt.app.shredding_mapper.decode_state,
                            ShreddedEventError, views, [v() for v in ALL_VIEWS],
                            batch_size=batch)


def count(views: Callable[[], Any], table: str) -> int:
    with closing(views()) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@BOTH_STORES
def test_resume_mid_way_without_double_counting(runtime: Runtime, tmp_path: Path) -> None:
    workload(runtime)
    head = runtime.app.recorder.max_notification_id()
    path = other_views(runtime, tmp_path, "resumed")
    first = runner_for(runtime, path, batch=7)
    for _ in range(3):
        first.run_batch()
    assert {s.position for s in first.status()} == {21}
    first.stop()  # "crash" between batches: nothing half-written survives
    second = runner_for(runtime, path, batch=7)
    second.catch_up()
    assert {s.position for s in second.status()} == {head}
    second.stop()
    assert count(path, "activity_logs") == head
    runtime.settle()
    assert dump_views(path) == dump_views(runtime)


@BOTH_STORES
def test_rebuild_equals_incremental(runtime: Runtime) -> None:
    workload(runtime, 12)
    runtime.settle()
    incremental = dump_views(runtime)
    assert len(incremental["proxies"]) == 12
    runtime.runner.rebuild()
    assert dump_views(runtime) == incremental
    runtime.runner.rebuild(["activity"])
    assert dump_views(runtime) == incremental


@BOTH_STORES
def test_a_stale_runner_cannot_apply_a_batch_twice(runtime: Runtime, tmp_path: Path) -> None:
    workload(runtime, 5)
    path = other_views(runtime, tmp_path, "shared")
    a = runner_for(runtime, path, batch=4)
    b = runner_for(runtime, path, batch=4)
    a.run_batch()
    # b reads its positions inside its own transaction, so it continues after a's batch
    b.run_batch()
    assert {s.position for s in b.status()} == {8}
    # a tracking row moved behind a runner's back is detected by the compare-and-set
    with closing(path()) as conn:
        conn.execute("UPDATE projection_tracking SET position=position WHERE view='proxies'")
    a.catch_up()
    b.catch_up()
    head = runtime.app.recorder.max_notification_id()
    assert count(path, "activity_logs") == head
    a.stop()
    b.stop()


@BOTH_STORES
def test_tracking_compare_and_set_refuses_a_moved_position(runtime: Runtime,
                                                           tmp_path: Path) -> None:
    workload(runtime, 3)
    runner = runner_for(runtime, other_views(runtime, tmp_path, "cas"), batch=100)
    cur = runner._conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseError, match="proxies was advanced by another runner"):
        ProjectionRunner._advance(cur, [("proxies", 5, 0)], new=9)
    # one statement moves every view that is where the runner read it, or none
    (at,) = {pos for _view, pos in cur.execute(
        "SELECT view, position FROM projection_tracking").fetchall()}
    ProjectionRunner._advance(cur, [("proxies", at, 2), ("tabs", at, 0)], new=at + 5)
    assert sorted(cur.execute("SELECT view, position, skipped FROM projection_tracking "
                              "WHERE view IN ('proxies', 'tabs')").fetchall()) == [
        ("proxies", at + 5, 2), ("tabs", at + 5, 0)]
    with pytest.raises(DatabaseError, match="advanced by another runner"):  # (the batch
        # rolls back whatever moved before the refusal)
        ProjectionRunner._advance(cur, [("proxies", at + 5, 0), ("tabs", at, 0)], new=at + 9)
    cur.execute("ROLLBACK")
    runner.stop()


@BOTH_STORES
def test_status_reports_lag_until_caught_up(runtime: Runtime) -> None:
    workload(runtime, 4)
    head = runtime.app.recorder.max_notification_id()
    assert [s.lag for s in runtime.runner.status()] == [head] * len(runtime.runner.status())
    runtime.settle()
    assert all(s.lag == 0 and s.head == head for s in runtime.runner.status())


@BOTH_STORES
def test_unknown_view_rebuild_is_refused(runtime: Runtime) -> None:
    with pytest.raises(DatabaseError, match="unknown view"):
        runtime.runner.rebuild(["nope"])


@BOTH_STORES
def test_background_runner_catches_up_after_commits(runtime: Runtime) -> None:
    runtime.runner.start()
    ack = runtime.dispatcher.execute(add_cmd(4444))
    assert runtime.runner.wait_for(ack.position, timeout=30)
    with runtime.reader() as conn:
        assert conn.execute("SELECT COUNT(*) FROM proxies").fetchone()[0] == 1


class _CountingRunner(ProjectionRunner):
    """The real runner, counting the batches that applied something."""

    batches = 0

    def run_batch(self) -> tuple[int, int]:
        done, low = super().run_batch()
        self.batches += done > 0
        return done, low


def test_a_busy_background_runner_lets_commits_gather_until_someone_waits(
        runtime: Runtime, tmp_path: Path) -> None:
    """Commits that stream in go in one batch (at most one catch-up per ``gather``
    seconds: here ten minutes, so nothing but a wait can end it); a wait for the views
    ends the gathering at once, and so does a stop (which applies what gathered)."""
    path = tmp_path / "gathered.sqlite"
    runner = _CountingRunner(runtime.app.recorder, runtime.app.shredding_mapper.decode_state,
                             ShreddedEventError, path, [v() for v in ALL_VIEWS], gather=600)
    runner.start()
    try:
        first = runtime.dispatcher.execute(add_cmd(4000))
        runner.notify(first.position)
        assert runner.wait_for(first.position, timeout=30)
        assert runner.batches == 1
        acks = []
        for i in range(5):  # a stream of commits, each announced as the committer does
            acks.append(runtime.dispatcher.execute(add_cmd(4001 + i)))
            runner.notify(acks[-1].position)
        assert {pos for pos, _ in runner.positions().values()} == {first.position}, \
            "the views wait for more commits to gather"
        assert runner.wait_for(acks[-1].position, timeout=30), "a wait is served at once"
        assert runner.batches == 2, "the five commits went in one batch"
        assert count(lambda: connect_views_db(path), "proxies") == 6
        runtime.dispatcher.execute(add_cmd(4010))
        runner.notify(0)  # gathering again (until the stop below ends it)
    finally:
        runner.stop()  # (pytest's timeout ends a stop that waited out the ten minutes)
    assert runner.batches == 3, "the stop ended the gathering; the last commit went in"
    assert count(lambda: connect_views_db(path), "proxies") == 7


def test_readers_see_the_old_views_or_the_new_never_none_during_a_rebuild(
        runtime: Runtime, tmp_path: Path) -> None:
    """Issue 30, point 8: a rebuild dropped the views, committed, then replayed batch by
    batch, and a read in between failed with ``no such table: proxies`` or saw a part."""
    workload(runtime, 20)
    path = tmp_path / "rebuilt.sqlite"
    runner = runner_for(runtime, lambda: connect_views_db(path), batch=4)
    runner.catch_up()
    seen: list[tuple[int, int]] = []

    def read(position: int, _head: int) -> None:  # called between batches of the replay
        with closing(connect_read_only(path)) as conn:
            proxies = conn.execute("SELECT COUNT(*) FROM proxies").fetchone()[0]
            tracked = conn.execute("SELECT MIN(position) FROM projection_tracking").fetchone()[0]
        seen.append((proxies, tracked))

    head = runtime.app.recorder.max_notification_id()
    assert runner.rebuild(progress=read) == head
    assert len(seen) > 3, "the replay took several batches"
    assert set(seen) == {(20, head)}, "every read saw the complete old views"
    assert count(lambda: connect_views_db(path), "proxies") == 20
