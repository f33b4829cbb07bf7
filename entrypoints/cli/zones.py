"""The time zone tables and records show times in: ``--tz``, else the ``display_timezone``
setting, else the machine's own zone (``TZ``, ``/etc/localtime``), else UTC. Every time
shown for people carries its zone's name (``2026-12-05 06:00 CET``); the machine formats
(``--json``, ``--csv``, ``--nl``) keep the stored UTC ISO times."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import ValidationError

_source: list[Callable[[], str | None]] = []  # where the zone name comes from (the CLI root)
_resolved: list[tzinfo] = []


def named_zone(name: str, field: str = "tz") -> ZoneInfo:
    """The IANA zone ``name`` (``UTC``, ``Europe/Berlin``) or a one-line error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not a known IANA time zone (e.g. Europe/Berlin, "
                              "UTC)", field=field) from None


def machine_zone() -> tzinfo:
    """This machine's zone, with its daylight-saving rules: ``TZ``, else
    ``/etc/localtime``, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        return UTC


def use_zone(source: Callable[[], str | None]) -> None:
    """Take the display zone's name from ``source()`` when a time is first shown."""
    _source[:] = [source]
    _resolved.clear()


def display_zone() -> tzinfo:
    """The zone people's output shows times in."""
    if not _resolved:
        name = _source[0]() if _source else None
        _resolved.append(named_zone(name) if name else machine_zone())
    return _resolved[0]


def shown(moment: datetime, zone: tzinfo | None = None, seconds: bool = False) -> str:
    """``2026-12-05 06:00 CET``: an aware time in ``zone`` (default: the display zone),
    with the zone's abbreviation for that moment."""
    local = moment.astimezone(zone or display_zone())
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def in_own_zone(schedule: dict[str, object]) -> dict[str, object]:
    """A schedule as people read it: its next run in the schedule's own zone (a ``0 6 * * *``
    Europe/Berlin schedule says ``06:00 CET``, not ``05:00`` in UTC)."""
    when, zone = schedule.get("next_run_at"), schedule.get("timezone")
    if not isinstance(when, str) or not isinstance(zone, str):
        return schedule
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        return {**schedule, "next_run_at": shown(moment, ZoneInfo(zone))}
    except (ValueError, ZoneInfoNotFoundError):
        return schedule
