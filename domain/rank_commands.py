"""Command models for the ``automation:*`` channels: rank tracking and schedules."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from domain import cron, rules
from domain.commands import Command, Country
from domain.creator_commands import CreatorName
from domain.ranking import MAX_DEPTH, normalize_domain
from domain.results import Ack
from domain.tab_commands import DEFAULT_PROFILE, ProfileName, ProxyChoice

Domain = Annotated[str, Field(max_length=253), AfterValidator(normalize_domain)]
Keyword = Annotated[str, Field(min_length=1, max_length=200),
                    AfterValidator(lambda v: " ".join(rules.check_text(v, max_len=200).split()))]
# Engines are data (adapters/serp/engines, VIPB_ENGINES_DIR): the name's shape is checked
# here, its existence by the tracker against the definitions in use.
ENGINE_NAME = r"^[a-z][a-z0-9_-]{0,31}$"  # also the name of an engine definition file
Engine = Annotated[str, Field(pattern=ENGINE_NAME)]
Device = Literal["desktop", "mobile"]
Depth = Annotated[int, Field(ge=1, le=MAX_DEPTH)]
CronText = Annotated[str, Field(max_length=120), AfterValidator(cron.check_cron)]
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(cron.check_timezone)]
ScheduleName = Annotated[str, Field(min_length=1, max_length=64),
                         AfterValidator(lambda v: rules.check_text(v, max_len=64))]
TaskId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$|^[0-9a-f-]{36}$")]
TaskState = Literal["queued", "running", "retrying", "completed", "failed", "cancelled"]
DEFAULT_DEPTH = 30


class AddDomain(Command):
    """Track a target domain: rank tracking records where it ranks for every keyword.

    Subdomains count unless ``include_subdomains`` is false (``www.`` always counts).

    Example: {"domain": "example.com"}
    """

    channel: ClassVar[str] = "automation:add-domain"
    reply: ClassVar[Any] = Ack
    domain: Domain
    include_subdomains: bool = True


class RemoveDomain(Command):
    """Stop tracking a target domain (its history stays on record).

    Example: {"domain": "example.com"}
    """

    channel: ClassVar[str] = "automation:remove-domain"
    reply: ClassVar[Any] = Ack
    domain: Domain


class ListDomains(Command):
    """The tracked target domains with their latest positions.

    Example: {"include_removed": true}
    """

    channel: ClassVar[str] = "automation:list-domains"
    include_removed: bool = False


class AddKeyword(Command):
    """Track a keyword on an engine, optionally as seen from a country (proxy and locale).

    Example: {"keyword": "espresso grinder", "engine": "bing", "country": "DE", "depth": 50}
    """

    channel: ClassVar[str] = "automation:add-keyword"
    reply: ClassVar[Any] = Ack
    keyword: Keyword
    engine: Engine = "duckduckgo"
    country: Country | None = None
    depth: Depth = DEFAULT_DEPTH
    device: Device = "desktop"


class RemoveKeyword(Command):
    """Stop tracking a keyword (same keyword, engine, country and device as added).

    Example: {"keyword": "espresso grinder", "engine": "bing", "country": "DE"}
    """

    channel: ClassVar[str] = "automation:remove-keyword"
    reply: ClassVar[Any] = Ack
    keyword: Keyword
    engine: Engine = "duckduckgo"
    country: Country | None = None
    device: Device = "desktop"


class ListKeywords(Command):
    """The tracked keywords.

    Example: {"include_removed": true}
    """

    channel: ClassVar[str] = "automation:list-keywords"
    include_removed: bool = False


class StartSearch(Command):
    """Queue rank-tracking searches: one keyword (given here), or every tracked keyword.

    Replies at once with the queued tasks; their outcomes follow as events (``events:follow``)
    and from ``automation:get-results`` (a reply never waits on a search, so a waiting client
    cannot hold the host's request workers).

    Example: {"keyword": "espresso grinder"}
    """

    channel: ClassVar[str] = "automation:start-search"
    rate_limit: ClassVar[int | None] = 5
    keyword: Keyword | None = None
    engine: Engine | None = None  # with keyword: default duckduckgo; without: filter
    country: Country | None = None
    device: Device | None = None  # with keyword: default desktop; without: filter
    depth: Depth | None = None
    profile: ProfileName = DEFAULT_PROFILE  # mobile searches: default-mobile unless named
    proxy: ProxyChoice = "auto"  # auto (rotation engine), a proxy id, or direct


class ListEngines(Command):
    """The search engines defined now (shipped and from ``VIPB_ENGINES_DIR``).

    Example: {}
    """

    channel: ClassVar[str] = "automation:list-engines"


class StopSearch(Command):
    """Cancel one queued or running search task, or all of them.

    Example: {"task_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "automation:stop-search"
    rate_limit: ClassVar[int | None] = 10
    task_id: TaskId | None = None


class GetTasks(Command):
    """Search tasks, newest first, optionally in one state.

    Example: {"state": "queued", "limit": 20}
    """

    channel: ClassVar[str] = "automation:get-tasks"
    state: TaskState | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 100


class GetResults(Command):
    """The outcome of given search tasks: state, and each target domain's position.

    Example: {"task_ids": ["5f1c2d3e4b5a69788796a5b4c3d2e1f0"]}
    """

    channel: ClassVar[str] = "automation:get-results"
    task_ids: tuple[TaskId, ...] = Field(min_length=1, max_length=1000)


class GetPositions(Command):
    """Position history (found and not-ranked), newest first, optionally filtered.

    Example: {"domain": "example.com", "limit": 50}
    """

    channel: ClassVar[str] = "automation:get-positions"
    domain: Domain | None = None
    keyword: Keyword | None = None
    limit: Annotated[int, Field(ge=1, le=100_000)] = 100


class GetReport(Command):
    """Per keyword x domain (and engine, country, device) over a period: the latest, best
    and previous position, the change, when it first ranked, the SERP features of the latest
    search, and the positions over time (what ``vipb rank report`` and charts show).

    Example: {"domain": "example.com", "since": "2026-11-01T00:00:00+00:00"}
    """

    channel: ClassVar[str] = "automation:get-report"
    domain: Domain | None = None
    keyword: Keyword | None = None
    engine: Engine | None = None
    device: Device | None = None
    since: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000


class CreateSchedule(Command):
    """Run rank tracking on a cron schedule (the listed keywords, or every tracked one) and,
    if asked, creator checks (the listed creators, or every enabled one).

    ``searches`` false: a schedule of creator checks only.

    Example: {"name": "morning", "cron": "0 6 * * *", "timezone": "Europe/Berlin"}
    """

    channel: ClassVar[str] = "automation:schedule"
    rate_limit: ClassVar[int | None] = 10
    name: ScheduleName
    cron: CronText
    timezone: TimeZoneName = "UTC"
    keywords: tuple[Keyword, ...] | None = Field(default=None, min_length=1, max_length=500)
    profile: ProfileName = DEFAULT_PROFILE
    proxy: ProxyChoice = "auto"
    searches: bool = True
    creators: tuple[CreatorName, ...] | None = Field(default=None, min_length=1,
                                                     max_length=500)
    all_creators: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> CreateSchedule:
        if self.creators is not None and self.all_creators:
            raise ValueError("name creators or ask for all of them, not both")
        if not self.searches and self.keywords is not None:
            raise ValueError("keywords are searched: drop them or keep searches on")
        if not self.searches and self.creators is None and not self.all_creators:
            raise ValueError("a schedule without searches needs creators to check")
        return self


class ScheduleRef(Command):
    """A command that names a schedule."""

    name: ScheduleName


class PauseSchedule(ScheduleRef):
    """Pause a schedule (runs while paused are skipped, not owed).

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "automation:pause"
    reply: ClassVar[Any] = Ack


class ResumeSchedule(ScheduleRef):
    """Resume a paused schedule.

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "automation:resume"
    reply: ClassVar[Any] = Ack


class RemoveSchedule(ScheduleRef):
    """Remove a schedule (its trigger history stays on record).

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "automation:remove-schedule"
    reply: ClassVar[Any] = Ack


class RunSchedule(ScheduleRef):
    """Queue a schedule's searches now, paused or not (its cron runs are unchanged; keywords
    already queued or running are not queued twice).

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "automation:run-schedule"
    rate_limit: ClassVar[int | None] = 5  # it queues searches, as start-search does


class ListSchedules(Command):
    """Schedules with their next run time.

    Example: {"include_removed": true}
    """

    channel: ClassVar[str] = "automation:list-schedules"
    include_removed: bool = False


RANK_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls
    for cls in (AddDomain, RemoveDomain, ListDomains, AddKeyword, RemoveKeyword, ListKeywords,
                ListEngines, StartSearch, StopSearch, GetTasks, GetResults, GetPositions, GetReport,
                CreateSchedule, PauseSchedule, ResumeSchedule, RemoveSchedule, RunSchedule,
                ListSchedules)
}
