"""Cron expressions (croniter): validation and the fire times of a schedule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

MAX_MISSED = 10_000  # counting missed runs stops here (a minutely schedule down for a week)


def check_cron(value: str) -> str:
    """Accept a 5-field cron expression (or 6 with seconds last); raise ValueError."""
    text = " ".join(value.split())
    if not 5 <= len(text.split(" ")) <= 6:
        raise ValueError("must have 5 fields (minute hour day month weekday), e.g. '0 6 * * *'")
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
    """The first fire time strictly after ``after`` (aware, in ``timezone``)."""
    start = after.astimezone(ZoneInfo(timezone))
    result: datetime = croniter(cron, start).get_next(datetime)
    return result


def due(cron: str, timezone: str, after: datetime, now: datetime) -> tuple[datetime | None, int]:
    """(latest fire time in (after, now], how many fell in that interval): what a scheduler
    that was away since ``after`` owes. (None, 0) when nothing is due."""
    latest, count = None, 0
    nxt = next_after(cron, timezone, after)
    while nxt <= now and count < MAX_MISSED:
        latest, count = nxt, count + 1
        nxt = next_after(cron, timezone, nxt)
    return latest, count
