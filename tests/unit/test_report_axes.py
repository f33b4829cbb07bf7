"""Axis ticks of the report's charts (issue 33, point 2): whole positions from 1 that cover
the deepest point, and times on round boundaries of the reader's clock for any span."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.reports._axes import MAX_TICKS, position_ticks, time_ticks

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("deepest", [1, 2, 3, 7, 8, 11, 19, 20, 21, 48, 99, 100])
def test_positions_are_whole_from_1_and_cover_the_deepest(deepest: int) -> None:
    ticks = position_ticks(deepest)
    assert ticks[0] == 1 and ticks == sorted(set(ticks))
    assert ticks[-1] >= max(deepest, 3) and len(ticks) <= MAX_TICKS + 2
    assert ticks[1] - ticks[0] > 1 or ticks[-1] <= 4, "1 and 2 are not crowded at the top"


@pytest.mark.parametrize(("span", "labels"), [
    (timedelta(hours=5), ["07:00", "08:00", "09:00", "10:00", "11:00"]),
    (timedelta(days=31), ["Nov 10", "Nov 17", "Nov 24", "Dec 01"]),
    (timedelta(days=200), ["Dec 2026", "Feb 2027", "Apr 2027"]),
])
def test_times_fall_on_round_boundaries_of_the_readers_clock(span: timedelta,
                                                             labels: list[str]) -> None:
    start = datetime(2026, 11, 3, 5, 17, tzinfo=UTC)  # 06:17 in Berlin
    ticks, fmt = time_ticks(start, start + span, BERLIN)
    assert [t.strftime(fmt) for t in ticks] == labels
    assert all(start <= t <= start + span for t in ticks)


def test_one_search_is_one_tick() -> None:
    moment = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
    assert time_ticks(moment, moment, BERLIN)[0] == [moment.astimezone(BERLIN)]


@pytest.mark.parametrize("days", [0.02, 0.3, 1, 2, 5, 9, 20, 45, 90, 400, 3000])
def test_any_span_gets_a_few_distinct_labels(days: float) -> None:
    start = datetime(2026, 1, 31, 23, 50, tzinfo=UTC)
    ticks, fmt = time_ticks(start, start + timedelta(days=days), BERLIN)
    labels = [t.strftime(fmt) for t in ticks]
    assert 1 <= len(labels) <= MAX_TICKS + 1 and len(set(labels)) == len(labels)
