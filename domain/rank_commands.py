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
def _location(value: str) -> str:
    """A canonical location name, its parts trimmed; at most 63 bytes (Google's ``uule``
    spells a name's length as one base64 digit)."""
    name = ",".join(part.strip() for part in rules.check_text(value, max_len=100).split(","))
    if len(name.encode()) > 63:
        raise ValueError("must be at most 63 bytes (as Google's canonical names are), e.g. "
                         "Berlin,Berlin,Germany")
    return name


# a place as engines name it: Google's canonical location names ("Berlin,Berlin,Germany")
Location = Annotated[str, Field(min_length=2, max_length=100), AfterValidator(_location)]
# the results' language: ISO 639 code, optionally with a script or region (de, pt-BR, zh-Hant)
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]


class _Placed(Command):
    """A command naming where a search is made from (country, location, language)."""

    country: Country | None = None
    location: Location | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _location_needs_country(self) -> _Placed:
        if self.location and not self.country:
            raise ValueError("location: needs --country, the country it is in (searches "
                             "go through a proxy there)")
        return self


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


class AddKeyword(_Placed):
    """Track a keyword on an engine, optionally as seen from a country: its searches go
    through a proxy of that country (or fail with ``no_proxy_in_country``, unless
    ``any_exit_country``), near ``location`` (engines that take one), in ``language``.

    Example: {"keyword": "espresso grinder", "engine": "bing", "country": "DE", "depth": 50}
    """

    channel: ClassVar[str] = "automation:add-keyword"
    reply: ClassVar[Any] = Ack
    keyword: Keyword
    engine: Engine = "duckduckgo"
    depth: Depth = DEFAULT_DEPTH
    device: Device = "desktop"
    any_exit_country: bool = False


class ImportKeywords(Command):
    """Track many keywords in one call (one save, one rate-limit unit): each as
    ``automation:add-keyword`` takes it. Those the host refuses (an engine it does not
    know, a location the engine cannot take) are answered in ``errors`` by their index in
    ``keywords``; the others are tracked. Replies ``{"added": [...], "updated": [...],
    "unchanged": [...], "errors": [{"index": 3, "error": "engine: ..."}]}``.

    Example: {"keywords": [{"keyword": "espresso grinder", "engine": "bing", "country": "DE"}]}
    """

    channel: ClassVar[str] = "automation:import-keywords"
    rate_limit: ClassVar[int | None] = 30
    keywords: tuple[AddKeyword, ...] = Field(min_length=1, max_length=1000)


class RemoveKeyword(_Placed):
    """Stop tracking a keyword. Fields left out match any value: the one tracked keyword
    with these words (and the fields given) is removed; when several match, the command is
    refused and names them, unless ``all_matching`` (remove each) or ``exact`` (fields left
    out mean unset: no country, location or language; duckduckgo; desktop).

    Example: {"keyword": "espresso grinder", "engine": "bing", "country": "DE"}
    """

    channel: ClassVar[str] = "automation:remove-keyword"
    reply: ClassVar[Any] = Ack
    keyword: Keyword
    engine: Engine | None = None
    device: Device | None = None
    exact: bool = False
    all_matching: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> RemoveKeyword:
        if self.exact and self.all_matching:
            raise ValueError("all_matching: cannot go with exact (exact names one keyword)")
        return self


class ListKeywords(Command):
    """The tracked keywords.

    Example: {"include_removed": true}
    """

    channel: ClassVar[str] = "automation:list-keywords"
    include_removed: bool = False


class StartSearch(_Placed):
    """Queue rank-tracking searches: the keywords given here (``keyword``, or several in
    ``keywords``), or every tracked keyword.

    Replies at once with the queued tasks; their outcomes follow as events (``events:follow``)
    and from ``automation:get-results`` (a reply never waits on a search, so a waiting client
    cannot hold the host's request workers). ``any_exit_country``: true lets every search
    of this run go through a proxy of another country when none of its own is available
    (the exit used is recorded beside each position); unset: as each keyword says.

    Example: {"keywords": ["espresso grinder", "burr grinder"], "country": "DE"}
    """

    channel: ClassVar[str] = "automation:start-search"
    rate_limit: ClassVar[int | None] = 5
    keyword: Keyword | None = None
    keywords: tuple[Keyword, ...] | None = Field(default=None, min_length=1, max_length=500)
    engine: Engine | None = None  # with keyword: default duckduckgo; without: filter
    device: Device | None = None  # with keyword: default desktop; without: filter
    depth: Depth | None = None
    profile: ProfileName = DEFAULT_PROFILE  # mobile searches: default-mobile unless named
    proxy: ProxyChoice = "auto"  # auto (rotation engine), a proxy id, or direct
    any_exit_country: bool | None = None

    @model_validator(mode="after")
    def _one_way_to_name_keywords(self) -> StartSearch:
        if self.keyword is not None and self.keywords is not None:
            raise ValueError("keywords: give keyword or keywords, not both")
        return self

    @property
    def named(self) -> list[str] | None:
        """The keywords this search names (None: every tracked keyword)."""
        if self.keywords is not None:
            return list(dict.fromkeys(self.keywords))
        return [self.keyword] if self.keyword is not None else None


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


MAX_RESULTS = 1000  # search tasks one GetResults names


class GetResults(Command):
    """The outcome of given search tasks: state, and each target domain's position.

    Example: {"task_ids": ["5f1c2d3e4b5a69788796a5b4c3d2e1f0"]}
    """

    channel: ClassVar[str] = "automation:get-results"
    task_ids: tuple[TaskId, ...] = Field(min_length=1, max_length=MAX_RESULTS)


class _Narrowed(Command):
    """A read narrowed to searches made one way (each filter optional)."""

    domain: Domain | None = None
    keyword: Keyword | None = None
    engine: Engine | None = None
    country: Country | None = None
    device: Device | None = None
    location: Location | None = None


class GetPositions(_Narrowed):
    """Position history (found and not-ranked), newest first, optionally filtered.

    Example: {"domain": "example.com", "country": "DE", "limit": 50}
    """

    channel: ClassVar[str] = "automation:get-positions"
    limit: Annotated[int, Field(ge=1, le=100_000)] = 100


class GetReport(_Narrowed):
    """Per keyword x domain (and engine, country, location, device) over a period: the
    latest, best and previous position, the change, when it first ranked, the SERP features
    of the latest search, and the positions over time (what ``vipb rank report`` and charts
    show).

    Example: {"domain": "example.com", "since": "2026-11-01T00:00:00+00:00"}
    """

    channel: ClassVar[str] = "automation:get-report"
    since: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000


class ComparePositions(_Narrowed):
    """Positions side by side, in one of three ways: as of two times (``at_a`` and
    ``at_b``: the last search at or before each), in two countries or on two devices (as
    of ``at_b``, default now). Each row: the keyword x search x domain, its position on
    each side (None: not ranked, or not searched there), and the change from A to B.

    Example: {"at_a": "2026-11-01T00:00:00+00:00", "at_b": "2026-12-01T00:00:00+00:00"}
    """

    channel: ClassVar[str] = "automation:compare-positions"
    at_a: AwareDatetime | None = None
    at_b: AwareDatetime | None = None
    countries: tuple[Country, Country] | None = None
    devices: tuple[Device, Device] | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 1000

    @model_validator(mode="after")
    def _one_comparison(self) -> ComparePositions:
        ways = [w for w, on in (("at_a", self.at_a is not None),
                                ("countries", self.countries is not None),
                                ("devices", self.devices is not None)) if on]
        if len(ways) != 1:
            raise ValueError("at_a: compare one way: two times (--from, --to), two countries "
                             "or two devices")
        if self.at_a is not None and self.at_b is not None and self.at_a >= self.at_b:
            raise ValueError("at_a: --from must be before --to")
        if self.countries is not None and self.country is not None:
            raise ValueError("country: give the two countries to compare, not a filter too")
        if self.devices is not None and self.device is not None:
            raise ValueError("device: give the two devices to compare, not a filter too")
        return self

    @property
    def apart(self) -> str | None:
        """The search column the two sides differ in (None: they differ in time)."""
        return "country" if self.countries else "device" if self.devices else None


class GetEvidence(Command):
    """A results page a search read, as kept: made safe to open in a browser (scripts and
    anything that would load or run removed) with a banner saying what it is.

    Example: {"task_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0", "page": 1}
    """

    channel: ClassVar[str] = "automation:get-evidence"
    task_id: TaskId
    page: Annotated[int, Field(ge=1, le=100)] = 1


class Reparse(Command):
    """Read the stored results pages of finished searches again with today's engine
    definitions; record ``PositionRevised`` where an answer changes (``dry_run``: only say
    what would). Old events are never edited.

    Example: {"since": "2026-11-01T00:00:00+00:00", "engine": "google", "dry_run": true}
    """

    channel: ClassVar[str] = "automation:reparse"
    rate_limit: ClassVar[int | None] = 5
    since: AwareDatetime | None = None
    engine: Engine | None = None
    dry_run: bool = False


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
    for cls in (AddDomain, RemoveDomain, ListDomains, AddKeyword, RemoveKeyword,
                ImportKeywords, ListKeywords, ListEngines, StartSearch, StopSearch, GetTasks,
                GetResults, GetPositions, GetReport, ComparePositions, GetEvidence, Reparse,
                CreateSchedule, PauseSchedule, ResumeSchedule, RemoveSchedule, RunSchedule,
                ListSchedules)
}
