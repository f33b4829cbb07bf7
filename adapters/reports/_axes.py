"""Axis ticks people read at a glance: whole positions from 1 down, and times on round
hours, days, weeks or months of the reader's clock, whatever span the searches cover."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

MAX_TICKS = 6
_POSITION_STEPS = (1, 2, 5, 10, 20, 25, 50)
_HOUR, _DAY = timedelta(hours=1), timedelta(days=1)
# (step, label format): the first whose ticks fit is used; months step by calendar
_TIME_STEPS = ((timedelta(minutes=10), "%H:%M"), (_HOUR / 4, "%H:%M"), (_HOUR, "%H:%M"),
               (3 * _HOUR, "%H:%M"), (6 * _HOUR, "%b %d %H:%M"),
               (12 * _HOUR, "%b %d %H:%M"), (_DAY, "%b %d"), (2 * _DAY, "%b %d"),
               (7 * _DAY, "%b %d"), (14 * _DAY, "%b %d"))


def position_ticks(deepest: int) -> list[int]:
    """1, then round steps down to the first at or beyond ``deepest`` (at least 3: a flat
    #1 line still shows where #2 and #3 would be), about ``MAX_TICKS`` of them: ``[1, 5,
    10, 15, 20]`` for 17 to 20, so every point lies within the axis."""
    deepest = max(deepest, 3)
    step = next((s for s in _POSITION_STEPS if deepest / s <= MAX_TICKS), 100)
    last = deepest + step - 1  # room for the first tick at or beyond the deepest position
    if step <= 2:  # 1, 3, 5, ...: not 1, 2, 4 (two ticks crowded at the top)
        return list(range(1, last + 1 if (last - 1) % step == 0 else last, step))
    return sorted({1, *range(step, last - last % step + 1, step)})


def time_ticks(first: datetime, last: datetime, zone: tzinfo) -> tuple[list[datetime], str]:
    """Ticks between two aware times on round boundaries of ``zone``'s clock, and the
    ``strftime`` format their labels take (hours for a day, dates for weeks, months for a
    year). One search: one tick at it."""
    start, end = first.astimezone(zone), last.astimezone(zone)
    if end <= start:
        return [start], "%b %d %H:%M"
    for step, fmt in _TIME_STEPS:
        if (end - start) / step <= MAX_TICKS:
            base = start.replace(minute=0, second=0, microsecond=0)
            if step >= _DAY:
                base = base.replace(hour=0)
            ticks = []
            moment = base
            while moment <= end:
                if moment >= start:
                    ticks.append(moment)
                moment = (moment.replace(tzinfo=None) + step).replace(tzinfo=zone)
            return ticks or [start], fmt
    return _month_ticks(start, end), "%b %Y"


def _month_ticks(start: datetime, end: datetime) -> list[datetime]:
    """The first of every month (or every few months) from the first whole month on."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    every = max(1, -(-months // MAX_TICKS))
    index = start.year * 12 + start.month - 1  # months since year 0
    if (start.day, start.hour, start.minute) != (1, 0, 0):
        index += 1  # the first tick is the first month that starts within the span
    ticks = []
    while (tick := datetime(index // 12, index % 12 + 1, 1, tzinfo=start.tzinfo)) <= end:
        ticks.append(tick)
        index += every
    return ticks
