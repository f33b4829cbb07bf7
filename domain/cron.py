"""Cron expressions (croniter): validation and the fire times of a schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_MISSED = 10_000  # counting missed runs stops here (a minutely schedule down for a week)


def check_cron(value: str) -> str:
    """Accept a 5-field cron expression (or 6 with seconds last); raise ValueError."""
    text = " ".join(value.split())
    if not 5 <= len(text.split(" ")) <= 6:
        raise ValueError("must have 5 fields (minute hour day month weekday), e.g. '0 6 * * *'")
    from croniter import croniter  # on first use: most processes never read a schedule

    if not croniter.is_valid(text):
        raise ValueError(f"{text!r} is not a valid cron expression")
    return text


def check_timezone(value: str) -> str:
    """Accept an IANA time zone name such as Europe/Berlin."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known IANA time zone") from None
    return value


def next_after(cron: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware, UTC), by these rules at the
    daylight-saving changes (Vixie cron's):

    - the expression is matched against the zone's wall clock (croniter on naive times);
    - a wall time the clock skips (spring) fires once, at the first instant after the gap;
    - a wall time the clock shows twice (autumn) fires once, at its first occurrence, when
      the schedule names fixed hours and minutes (``30 2 * * *``); schedules whose minute or
      hour field starts with ``*`` (hourly, every 15 minutes, ...) fire at both occurrences,
      so they keep firing each real hour or minute.
    """
    zone = ZoneInfo(timezone)
    fixed = _fixed_time(cron)
    after = after.astimezone(UTC)  # every comparison in UTC: same-zone datetimes ignore fold
    wall = after.astimezone(zone).replace(tzinfo=None)
    # Wall times the clock is about to show a second time (autumn, before the change) may
    # still be due: a schedule that fires at both occurrences looks back over them. A fixed
    # time fires at first occurrences only, which come in wall-clock order: no look-back.
    back = timedelta(0) if fixed else _clock_goes_back(zone, after, after + NEAR)
    from croniter import croniter

    matches = croniter(cron, wall - back)
    best: datetime | None = None
    best_wall = wall
    while True:
        match: datetime = matches.get_next(datetime)
        if best is not None and (fixed or match - best_wall >= _clock_goes_back(
                zone, best - NEAR, best)):
            return best  # no later wall time can map to an earlier instant
        for instant in _instants(match, zone, fixed):
            if instant > after and (best is None or instant < best):
                best, best_wall = instant, match


def _fixed_time(cron: str) -> bool:
    """True when the minute and hour fields name fixed values (no leading ``*``)."""
    minute, hour = cron.split()[:2]
    return not (minute.startswith("*") or hour.startswith("*"))


NEAR = timedelta(hours=3)  # longer than any offset change (2 h at most, Antarctica/Troll)


def _clock_goes_back(zone: ZoneInfo, start: datetime, end: datetime) -> timedelta:
    """How far the zone's clock is set back between ``start`` and ``end`` (0 almost
    always: only at the autumn change)."""
    before = start.astimezone(zone).utcoffset() or timedelta(0)
    after = end.astimezone(zone).utcoffset() or timedelta(0)
    return max(timedelta(0), before - after)


def _instants(wall: datetime, zone: ZoneInfo, fixed: bool) -> list[datetime]:
    """The UTC instants at which the zone's clock shows ``wall`` (see ``next_after``)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    if first.astimezone(zone).replace(tzinfo=None) == wall:  # shown twice: autumn
        return [first] if fixed else [first, second]
    return [_gap_end(zone, second, first)]  # never shown: spring


def _gap_end(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The instant the clock jumps (the first after a spring gap), to the second: the
    wall clock is before the gap at ``low`` and after it at ``high``."""
    lo, hi = int(low.timestamp()), int(high.timestamp())
    before = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def due(cron: str, timezone: str, after: datetime, now: datetime) -> tuple[datetime | None, int]:
    """(latest fire time in (after, now], how many fell in that interval): what a scheduler
    that was away since ``after`` owes. (None, 0) when nothing is due."""
    latest, count = None, 0
    nxt = next_after(cron, timezone, after)
    while nxt <= now and count < MAX_MISSED:
        latest, count = nxt, count + 1
        nxt = next_after(cron, timezone, nxt)
    return latest, count
