"""Command models for the ``projections:*`` channels: the read models' status and rebuilds.

They go through the same dispatcher whether a host runs or the CLI opens the runtime itself,
so both answer in one shape.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field

from domain.commands import Command

ViewName = Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,63}$")]


class ViewPosition(BaseModel):
    """One read model's tracking position against the event store's head."""

    view: str
    position: int
    head: int
    lag: int
    skipped: int


class Rebuilt(BaseModel):
    """What a rebuild replayed, and where every view stands after it."""

    replayed: int
    views: list[ViewPosition]


class ProjectionStatus(Command):
    """Each read model's position against the event store head, and skipped events.

    Example: {}
    """

    channel: ClassVar[str] = "projections:status"
    reply: ClassVar[Any] = list[ViewPosition]


class RebuildProjections(Command):
    """Drop read tables and replay every event into them (all views by default).

    Example: {"views": ["proxies", "position_history"]}
    """

    channel: ClassVar[str] = "projections:rebuild"
    reply: ClassVar[Any] = Rebuilt
    views: tuple[ViewName, ...] | None = Field(default=None, min_length=1, max_length=64)


PROJECTION_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls for cls in (ProjectionStatus, RebuildProjections)}
