"""Which unfinished searches a host claims first (issue 30, point 6): a dead host's work
(its lease run out) before younger queued work, then the oldest; never work a live lease
holds."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from projections.rank import RankTrackingView
from projections.rank_queries import claimable_tasks, unfinished_tasks

NOW = "2026-12-05T12:00:00.000000+00:00"  # as lease_text writes them


def at(time: str) -> str:
    """A lease end on that day, as ``lease_text`` writes it."""
    return f"2026-12-05T{time}.000000+00:00"


def _task(conn: sqlite3.Connection, task_id: str, queued_at: str, state: str = "queued",
          claimed_by: str | None = None, lease_until: str | None = None) -> None:
    conn.execute("INSERT INTO search_tasks(id, keyword, engine, depth, domains, origin, state, "
                 "queued_at, claimed_by, lease_until) VALUES (?, 'k', 'bing', 10, '{}', "
                 "'manual', ?, ?, ?, ?)", (task_id, state, queued_at, claimed_by, lease_until))


def test_a_dead_hosts_work_is_taken_over_before_younger_queued_work() -> None:
    with closing(sqlite3.connect(":memory:")) as conn:
        RankTrackingView().create(conn.cursor())
        _task(conn, "old-queued", "2026-12-05T11:00:00")
        _task(conn, "dead-hosts", "2026-12-05T11:30:00", "running", "b", at("11:59:00"))
        _task(conn, "new-queued", "2026-12-05T11:40:00")
        _task(conn, "live-lease", "2026-12-05T10:00:00", "running", "c", at("12:01:00"))
        _task(conn, "mine-before", "2026-12-05T11:50:00", "retrying", "a", at("11:58:00"))
        _task(conn, "done", "2026-12-05T09:00:00", "completed")
        assert claimable_tasks(conn, "a", NOW, 10) == [
            "dead-hosts", "mine-before", "old-queued", "new-queued"]
        assert claimable_tasks(conn, "a", NOW, 1) == ["dead-hosts"]
        assert unfinished_tasks(conn) == [
            "live-lease", "old-queued", "dead-hosts", "new-queued", "mine-before"]
