"""The repeat filter: a line in a tight loop is let through a few times per period, and the
first one after a suppression says how many were dropped."""

from __future__ import annotations

import logging

from adapters.logs import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, name: str = "asyncio",
            level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_flood_is_cut_to_a_burst_per_period_and_counted() -> None:
    clock = Clock()
    f = RepeatFilter(burst=3, period=60, clock=clock)
    passed = [f.filter(_record("accept() failed on fd %d", n)) for n in range(10_000)]
    assert passed.count(True) == 3 and passed[:3] == [True] * 3
    other = _record("something else")
    assert f.filter(other), "another kind of line is not affected"
    assert f.filter(_record("accept() failed on fd %d", 1, level=logging.WARNING))
    clock.now += 60
    after = _record("accept() failed on fd %d", 7)
    assert f.filter(after)
    assert after.getMessage() == ("accept() failed on fd 7 "
                                  "[9997 similar lines suppressed in the last 60s]")
    assert f.filter(_record("accept() failed on fd %d", 8)), "a new burst in the new period"
    assert _record("accept() failed on fd %d", 8).getMessage() == "accept() failed on fd 8"


def test_memory_stays_bounded_with_endless_distinct_lines() -> None:
    f = RepeatFilter()
    for n in range(5000):
        f.filter(_record(f"line {n}"))  # an f-string: every template differs
    assert len(f._windows) <= 1024
