"""Handlers of the ``host:*`` and ``projections:*`` channels: what the process that opened
the store reports and does (``Deps.ops``)."""

from __future__ import annotations

from typing import Any

from domain.host_commands import CreateBackup, HostStatus, Settle, Settled
from domain.progress import Progress
from domain.projection_commands import (
    ProjectionStatus,
    RebuildProjections,
    Rebuilt,
    ViewPosition,
)
from service.handlers.deps import Deps


def status(_c: HostStatus, deps: Deps) -> dict[str, Any]:
    """The host's (or this process's) status report."""
    return deps.ops.status()


def settle(_c: Settle, deps: Deps) -> Settled:
    """Bring the views to the store head."""
    return Settled(position=deps.ops.settled())


def backup(c: CreateBackup, deps: Deps) -> dict[str, Any]:
    """Copy the data dir, consistent, while commits wait."""
    return deps.ops.backup(c)


def projection_status(_c: ProjectionStatus, deps: Deps) -> list[ViewPosition]:
    """Each view's position, head and lag."""
    return deps.ops.view_positions()


def rebuild(c: RebuildProjections, deps: Deps, progress: Progress | None = None) -> Rebuilt:
    """Rebuild views from the event store."""
    return deps.ops.rebuild(list(c.views) if c.views else None, progress)


HANDLERS = {HostStatus: status, Settle: settle, CreateBackup: backup,
            ProjectionStatus: projection_status}
PROGRESSIVE = {RebuildProjections: rebuild}
