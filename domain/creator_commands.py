"""Command models of creator watch (``automation:*-creator`` channels)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from domain import rules
from domain.commands import Command, Country, Tag
from domain.results import Ack
from domain.tab_commands import DEFAULT_PROFILE, HttpUrl, ProfileName, ProxyChoice

CreatorName = Annotated[str, Field(min_length=1, max_length=64),
                        AfterValidator(lambda v: rules.check_text(v, max_len=64))]
Platform = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,31}$")]
Priority = Annotated[int, Field(ge=1, le=5)]  # 1: most important


class AddCreator(Command):
    """Watch a public page: a check loads it in a tab and records what it found.

    Example: {"name": "jane", "url": "https://example.com/@jane", "platform": "blog"}
    """

    channel: ClassVar[str] = "automation:add-creator"
    rate_limit: ClassVar[int | None] = 30
    reply: ClassVar[Any] = Ack
    name: CreatorName
    url: HttpUrl
    platform: Platform = "web"
    priority: Priority = 3
    enabled: bool = True
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)


class UpdateCreator(Command):
    """Change a creator's URL, platform, priority, enabled flag or tags.

    Example: {"name": "jane", "enabled": false}
    """

    channel: ClassVar[str] = "automation:update-creator"
    rate_limit: ClassVar[int | None] = 30
    reply: ClassVar[Any] = Ack
    name: CreatorName
    url: HttpUrl | None = None
    platform: Platform | None = None
    priority: Priority | None = None
    enabled: bool | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None


class RemoveCreator(Command):
    """Stop watching a creator (its checks stay on record; the name can be used again).

    Example: {"name": "jane"}
    """

    channel: ClassVar[str] = "automation:remove-creator"
    rate_limit: ClassVar[int | None] = 30
    reply: ClassVar[Any] = Ack
    name: CreatorName


class ListCreators(Command):
    """The watched creators with their latest check.

    Example: {"include_removed": false}
    """

    channel: ClassVar[str] = "automation:list-creators"
    include_removed: bool = False


class CreatorHistory(Command):
    """A creator's checks, newest first.

    Example: {"name": "jane", "limit": 20}
    """

    channel: ClassVar[str] = "automation:creator-history"
    name: CreatorName
    limit: Annotated[int, Field(ge=1, le=10_000)] = 50


class CheckCreator(Command):
    """Check a creator's page now: load it in a tab (proxy from the rotation engine unless
    named, the privacy profile's fingerprint), record CreatorChecked, reply with it. Failures
    are retried with the search policy; the last one is the recorded reason.

    Example: {"name": "jane", "profile": "berlin"}
    """

    channel: ClassVar[str] = "automation:check-creator"
    rate_limit: ClassVar[int | None] = 10
    name: CreatorName
    profile: ProfileName = DEFAULT_PROFILE
    proxy: ProxyChoice = "auto"
    country: Country | None = None


CREATOR_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls
    for cls in (AddCreator, UpdateCreator, RemoveCreator, ListCreators, CreatorHistory,
                CheckCreator)
}
