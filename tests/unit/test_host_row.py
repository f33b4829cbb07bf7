"""What `vipb status` says of each host sharing a store (issue 30, point 6: a killed host was
still shown "2 searching" long after it went silent; issue 32, point 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

import pytest

from adapters.cluster import HostRegistry, HostRow, LeaderLock
from service.cluster import ClusterMember

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _row(silent_for: float, stopped: bool = False) -> HostRow:
    return HostRow(host_id="b", pid=42, version="1", started_at=START, heartbeat_at=START,
                   stopped_at=START if stopped else None, leader=True, running=2, queued=3,
                   checks=1, silent_for=silent_for)


def test_a_host_that_is_up_shows_its_work() -> None:
    shown = _row(1.0).as_dict(stale_after=15.0)
    assert shown["state"] == "up"
    assert (shown["searches_running"], shown["searches_queued"], shown["creator_checks"],
            shown["projects"]) == (2, 3, 1, True)


@pytest.mark.parametrize(("silent_for", "stopped", "state"),
                         [(40.0, False, "silent"), (1.0, True, "stopped")])
def test_a_silent_or_stopped_host_runs_nothing(silent_for: float, stopped: bool,
                                               state: str) -> None:
    shown = _row(silent_for, stopped).as_dict(stale_after=15.0)
    assert shown["state"] == state
    assert (shown["searches_running"], shown["searches_queued"], shown["creator_checks"],
            shown["projects"]) == (0, 0, 0, False)


class _Registry(HostRegistry):
    """The hosts table as two rows last written at heartbeats (this host "a" said 3
    searches were running)."""

    def __init__(self) -> None:
        self.host_id = "a"

    def hosts(self) -> list[HostRow]:
        return [replace(_row(1.0), host_id="a", running=3, queued=1, checks=2),
                replace(_row(1.0), host_id="b")]


def test_this_host_shows_its_work_as_it_is_now_not_at_its_last_heartbeat() -> None:
    """Issue 32, point 16: "a* (3 searching)" after the searches had finished."""
    now = {"running": 0, "queued": 0, "checks": 0}
    member = ClusterMember(_Registry(), cast(LeaderLock, None), lambda _lead: None,
                           lambda: now)
    hosts = {h["host_id"]: h for h in member.status()["hosts"]}
    assert (hosts["a"]["searches_running"], hosts["a"]["searches_queued"],
            hosts["a"]["creator_checks"]) == (0, 0, 0)
    assert hosts["b"]["searches_running"] == 2, "another host: as its heartbeat said"
    now["running"] = 1
    assert member.status()["hosts"][0]["searches_running"] == 1
