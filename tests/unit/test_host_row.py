"""What `vipb status` says of each host sharing a store (issue 30, point 6: a killed host was
still shown "2 searching" long after it went silent)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.cluster import HostRow

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
