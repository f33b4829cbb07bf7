"""Command models for the ``host:*`` channels: status, settling the views, backups.

They go through the same dispatcher whether a host runs or the CLI opens the data dir
itself, so ``vipb status`` and ``vipb backup create`` have one code path.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, Field

from domain.commands import Command


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError("must be an absolute path")
    return path


class Settled(BaseModel):
    """The event store position the read models have reached."""

    position: int


class HostStatus(Command):
    """Health, actors, proxies by status, open tabs, projection lag, searches, next
    schedules; ``host`` says whether a host process answered.

    Example: {}
    """

    channel: ClassVar[str] = "host:status"


class Settle(Command):
    """Bring every read model up to the event store's head; answers the position reached.

    Example: {}
    """

    channel: ClassVar[str] = "host:settle"
    reply: ClassVar[Any] = Settled


class CreateBackup(Command):
    """Copy the databases consistently into a new directory (commits pause for the event
    store's copy); the master key only when asked.

    Example: {"dest": "/backups/vipb-monday", "include_key": false}
    """

    channel: ClassVar[str] = "host:backup"
    dest: Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_absolute)]
    include_key: bool = False


HOST_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls for cls in (HostStatus, Settle, CreateBackup)}
