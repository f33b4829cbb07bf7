"""When a host may claim a task on a store several hosts share (see ``actors.claims``)."""

from __future__ import annotations

from datetime import datetime


def claimable(finished: bool, claimed_by: str | None, lease_until: datetime | None,
              host_id: str, now: datetime) -> bool:
    """Whether ``host_id`` may claim a task at ``now``: unfinished, and unclaimed, claimed by
    that host (a restart of it), or its lease has run out."""
    if finished:
        return False
    if claimed_by is None or claimed_by == host_id:
        return True
    return lease_until is not None and lease_until <= now
