"""Rank-tracking aggregates: the targets, each search task, each schedule.

``RankTargets`` is a singleton (target domains and tracked keywords change rarely and are
read together when a search is queued). A ``SearchTask`` records one search from queue to
outcome: a position or "not ranked in N results" per target domain, or a failure — never
one mistaken for the other. A ``Schedule`` fires searches from a cron expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import cron as cron_times
from domain.claims import claimable
from domain.errors import ValidationError
from domain.ids import named_id
from domain.keyword_names import fold_keyword, search_label

RANK_TARGETS_ID = named_id("rank-targets", "singleton")


def keyword_key(keyword: str, engine: str, country: str | None,
                device: str = "desktop", location: str | None = None,
                language: str | None = None) -> str:
    """The identity of a tracked keyword: the same words on another engine, country,
    device, location or language is another keyword (keys keep the form they had before
    devices, locations and languages for keywords that have none)."""
    key = f"{fold_keyword(keyword)}|{engine}|{country or ''}"
    if device != "desktop" or location or language:
        key += f"|{device}"
    if location or language:
        key += f"|{location or ''}|{language or ''}"
    return key


@dataclass(frozen=True)
class Answer:
    """What a search says of one target domain: its position and URL (None: not among the
    ``scanned`` results)."""

    position: int | None
    url: str | None
    scanned: int


@dataclass(frozen=True)
class Place:
    """Where a search is made from: the country (its proxy's), a place in it for engines
    that take one, the results' language, and whether a proxy of another country may stand
    in (then the exit actually used is recorded beside every position)."""

    country: str | None = None
    location: str | None = None
    language: str | None = None
    any_exit_country: bool = False


class RankTargets(Aggregate):
    """Target domains (what rank tracking looks for) and tracked keywords (what it searches)."""

    @event("RankTargetsCreated")
    def __init__(self, id: UUID) -> None:
        self.domains: dict[str, bool] = {}  # domain -> include_subdomains
        self.keywords: dict[str, dict[str, Any]] = {}  # keyword_key -> keyword, engine, ...

    @event("TargetDomainAdded")
    def add_domain(self, domain: str, include_subdomains: bool) -> None:
        """Track ``domain`` (already normalised)."""
        self.domains[domain] = include_subdomains

    @event("TargetDomainRemoved")
    def remove_domain(self, domain: str) -> None:
        """Stop tracking ``domain``; its position history stays on record."""
        self.domains.pop(domain, None)

    @event("KeywordAdded")
    def add_keyword(self, key: str, keyword: str, engine: str, country: str | None,
                    depth: int, device: str = "desktop", location: str | None = None,
                    language: str | None = None, any_exit_country: bool = False) -> None:
        """Track ``keyword`` on ``engine`` (as seen from ``country``, near ``location``, in
        ``language``, on ``device``), ``depth`` results deep; ``any_exit_country``: a proxy
        of another country may stand in when none of ``country`` is available. (Events from
        before devices, locations and languages: desktop, none, none, False.)"""
        self.keywords[key] = {"keyword": keyword, "engine": engine, "country": country,
                              "depth": depth, "device": device, "location": location,
                              "language": language, "any_exit_country": any_exit_country}

    @event("KeywordRemoved")
    def remove_keyword(self, key: str) -> None:
        """Stop tracking a keyword."""
        self.keywords.pop(key, None)

    # --- the rules: what a command may change ----------------------------------------------

    def track_domain(self, domain: str, include_subdomains: bool) -> bool:
        """Track ``domain``; tracking it again with other options changes them. False (no
        event) when it is tracked just so already."""
        if self.domains.get(domain) == include_subdomains:
            return False
        self.add_domain(domain=domain, include_subdomains=include_subdomains)
        return True

    def untrack_domain(self, domain: str) -> None:
        """Stop tracking ``domain``; refused when it is not a target."""
        if domain not in self.domains:
            raise ValidationError(f"{domain} is not a target domain", field="domain")
        self.remove_domain(domain=domain)

    def track_keyword(self, keyword: str, engine: str, depth: int, device: str,
                      place: Place) -> str:
        """Track a keyword per engine, place and device; tracking it again with another
        depth or exit rule changes them (no event when nothing changes). Returns its key."""
        key = keyword_key(keyword, engine, place.country, device, place.location,
                          place.language)
        current = self.keywords.get(key)
        if current is None or current["depth"] != depth \
                or bool(current.get("any_exit_country")) != place.any_exit_country:
            self.add_keyword(key=key, keyword=keyword, engine=engine, country=place.country,
                             depth=depth, device=device, location=place.location,
                             language=place.language,
                             any_exit_country=place.any_exit_country)
        return key

    def untrack_keywords(self, keyword: str, given: dict[str, str | None],
                         every: bool = False) -> list[str]:
        """Stop tracking the keyword with these words whose fields agree with ``given``
        (engine, device, country, location, language; a field left out matches any value);
        with ``every``, each one that matches. Refused when none matches, or several do
        without ``every`` (the refusal names them). Returns their keys."""
        folded = fold_keyword(keyword)
        words = [key for key, entry in self.keywords.items()
                 if fold_keyword(entry["keyword"]) == folded]
        keys = [key for key in words
                if all(self.keywords[key].get(name) == value for name, value in given.items())]
        asked = search_label(keyword, str(given.get("engine") or "any engine"),
                             given.get("country"), str(given.get("device") or ""), quote=True,
                             location=given.get("location"), language=given.get("language"))
        if not keys:
            also = (f"; tracked as {self._labels(words)}" if words else "")
            raise ValidationError(f"{asked} is not tracked{also}", field="keyword")
        if len(keys) > 1 and not every:
            raise ValidationError(
                f"{len(keys)} tracked keywords match: {self._labels(keys)}; name one with "
                "--engine, --country, --device, --location or --language (--exact: options "
                "left out mean unset), or remove them all with --all-matching",
                field="keyword")
        for key in keys:
            self.remove_keyword(key=key)
        return keys

    def _labels(self, keys: list[str]) -> str:
        shown = [search_label(e["keyword"], e["engine"], e.get("country"),
                              e.get("device") or "desktop", quote=True,
                              location=e.get("location"), language=e.get("language"))
                 for e in (self.keywords[key] for key in keys[:5])]
        return ", ".join(shown) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


FINAL_STATES = ("completed", "failed", "cancelled")


class FailureReason(StrEnum):
    """Why a search attempt failed, as a stable code (``vipb rank tasks`` shows it)."""

    BLOCKED = "blocked"  # a captcha, consent or anomaly page: the exit IP is challenged
    HTTP_ERROR = "http_error"  # the engine answered an HTTP error status (429, 503, ...)
    UNREADABLE = "unreadable"  # not a results page we can read (markup changed?)
    LOAD_FAILED = "load_failed"  # the page did not load (proxy, network, timeout)
    NO_TAB = "no_tab"  # no tab could be opened (no proxy available, browser down)
    # no proxy of the search's country (declared, and confirmed where a validation saw the
    # exit): the search is not made from elsewhere unless the keyword allows any exit
    NO_PROXY_IN_COUNTRY = "no_proxy_in_country"
    # the engine said "no results" and a second search (another proxy, a fresh profile) could
    # not confirm it: engines give that answer to clients they distrust
    SUSPICIOUS_NO_RESULTS = "suspicious_no_results"
    REFUSED = "refused"  # the egress guard refused the page (a private address): not retried
    INTERRUPTED = "interrupted"  # the host stopped mid-search (it resumes)
    INTERNAL = "internal"  # a bug in vipb (see the host log)
    UNKNOWN = "unknown"  # recorded before reasons were (v1) and not recognisable


_V1_REASONS = (  # how v1 error texts read, first match wins
    (re.compile(r"^interrupted:"), FailureReason.INTERRUPTED),
    (re.compile(r"^no tab:"), FailureReason.NO_TAB),
    (re.compile(r" answered HTTP \d{3}\b"), FailureReason.HTTP_ERROR),
    (re.compile(r" answered with "), FailureReason.BLOCKED),
    (re.compile(r"net::ERR_|Timeout|timed out"), FailureReason.LOAD_FAILED),
    (re.compile(r"^no #|no results list|markup"), FailureReason.UNREADABLE),
)


def reason_of(error: str) -> FailureReason:
    """The reason a v1 ``SearchTaskFailed`` error text gives (``UNKNOWN`` if none)."""
    for pattern, reason in _V1_REASONS:
        if pattern.search(error):
            return reason
    return FailureReason.UNKNOWN


class SearchTask(Aggregate):
    """One search of one keyword on one engine, from queue to outcome.

    Several hosts sharing a store run each task once: a host claims it before running it
    (``SearchTaskClaimed``, appended at the version it loaded, so of two hosts claiming at
    once one gets a version conflict and moves on), keeps its lease renewed while it runs,
    and releases it if it stops first. A host that dies stops renewing; once the lease has
    run out, another host claims the task and goes on counting its attempts.
    """

    claimed_by: str | None = None  # tasks from before claims: never claimed
    lease_until: datetime | None = None

    @event("SearchTaskQueued")
    def __init__(self, id: UUID, keyword: str, engine: str, country: str | None, depth: int,
                 domains: dict[str, bool], origin: str, profile: str, proxy: str,
                 device: str = "desktop", location: str | None = None,
                 language: str | None = None, any_exit_country: bool = False) -> None:
        self.keyword = keyword
        self.device = device  # desktop or mobile (tasks queued before devices: desktop)
        self.location = location  # a place in the country (engines that take one)
        self.language = language  # None: the country's main language
        self.any_exit_country = any_exit_country  # a proxy elsewhere may stand in
        self.proxy = proxy  # auto, a proxy id, or direct
        self.engine = engine
        self.country = country
        self.depth = depth
        self.domains = domains
        self.origin = origin
        self.profile = profile
        self.state = "queued"
        self.attempts = 0
        self.answers: dict[str, Answer] = {}  # domain -> its answer now (revised or first)
        self.evidence: list[str] = []
        self.definition = ""  # the engine definition version that gave the answers

    @property
    def finished(self) -> bool:
        """Completed, failed for good, or cancelled."""
        return self.state in FINAL_STATES

    def claimable_by(self, host_id: str, now: datetime) -> bool:
        """Whether ``host_id`` may claim the task at ``now``: unfinished, and unclaimed,
        claimed by that host (a restart of it), or its lease has run out."""
        return claimable(self.finished, self.claimed_by, self.lease_until, host_id, now)

    @event("SearchTaskClaimed")
    def claimed(self, host_id: str, lease_until: datetime, previous: str | None) -> None:
        """``host_id`` runs the task until ``lease_until`` unless it renews the lease;
        ``previous``: the host whose claim it takes over (its lease ran out)."""
        self.claimed_by = host_id
        self.lease_until = lease_until

    @event("SearchTaskLeaseRenewed")
    def lease_renewed(self, host_id: str, lease_until: datetime) -> None:
        """The claiming host still runs the task."""
        self.lease_until = lease_until

    @event("SearchTaskReleased")
    def released(self, host_id: str, reason: str) -> None:
        """The claiming host stopped before an outcome: any host may claim the task now."""
        self.claimed_by = None
        self.lease_until = None

    @property
    def place(self) -> Place:
        """Where the search is made from."""
        return Place(self.country, getattr(self, "location", None),
                     getattr(self, "language", None),
                     bool(getattr(self, "any_exit_country", False)))

    @event("SearchTaskStarted")
    def started(self, attempt: int, proxy_id: str | None, tab_id: str,
                exit_country: str | None = None, exit_basis: str | None = None,
                fetch: str = "browser", profile_id: str | None = None) -> None:
        """An attempt began in tab ``tab_id`` behind ``proxy_id``, leaving from
        ``exit_country`` (``exit_basis``: ``validated`` - a validation saw it, ``declared``
        - the proxy's declared country, ``direct`` - this host's own connection as
        configured, ``unknown``). Events from before exits were recorded: None.
        ``fetch``: how its pages are read: ``browser`` (in the tab) or ``http`` (the
        profile's Chrome over HTTP, no tab: ``tab_id`` is empty) and ``profile_id`` the
        privacy profile presented; events from before the HTTP tier: ``browser`` and
        None (the tab's own events name its profile)."""
        self.state = "running"
        self.attempts = attempt
        self.exit_country = exit_country
        self.proxy_id = proxy_id

    @event("SearchTaskFellBack")
    def fell_back(self, attempt: int, reason: str, error: str, evidence: list[str]) -> None:
        """The attempt's pages, fetched over HTTP, could not be read (``reason``: a
        captcha or consent page - ``blocked`` - or a layout the definition does not know -
        ``unreadable``; ``evidence``: the pages got): the same attempt goes on in a browser
        tab behind the same proxy (its own ``SearchTaskStarted`` follows). Not a failure:
        it does not count against the attempts."""

    class SearchTaskFailed(Aggregate.Event):
        """An attempt failed; ``retry_in`` seconds until the next one (None: given up).

        v2 added ``reason``, a stable code for ``error`` (see ``FailureReason``); v1 events
        get it from their error text when they are read. v3 added ``evidence``: the hashes
        of the pages the attempt got (a captcha, an unreadable page), empty before.
        """

        class_version = 3

        attempt: int
        error: str
        retry_in: float | None
        reason: str
        evidence: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Name the reason a v1 event's error text gives."""
            state["reason"] = reason_of(str(state.get("error", ""))).value

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Pages were not kept before v3."""
            state["evidence"] = []

    @event(SearchTaskFailed)
    def failed(self, attempt: int, error: str, retry_in: float | None,
               reason: str, evidence: list[str] | None = None) -> None:
        """An attempt failed; ``retry_in`` seconds until the next one, None: given up;
        ``evidence``: the pages it got."""
        self.state = "retrying" if retry_in is not None else "failed"
        if reason != FailureReason.INTERRUPTED.value:  # a stop is not the search's failure
            self.failures = self.failures_so_far + 1

    @property
    def failures_so_far(self) -> int:
        """Attempts that failed (not those a stopping host interrupted), by every host that
        ran the task: what counts against ``VIPB_SEARCH_ATTEMPTS``."""
        return int(getattr(self, "failures", 0))

    @event("PositionRecorded")
    def position_recorded(self, domain: str, position: int, url: str,
                          results_scanned: int, title: str = "",
                          exit_country: str | None = None,
                          proxy_id: str | None = None) -> None:
        """``domain`` ranks at ``position`` (1-based, organic results only) with ``url``,
        showing ``title``, in a search that left from ``exit_country`` through
        ``proxy_id`` (None: direct). (Events from before titles and exits: "", None.)"""
        self.answers[domain] = Answer(position, url, results_scanned)

    @event("DomainNotRanked")
    def not_ranked(self, domain: str, results_scanned: int,
                   exit_country: str | None = None, proxy_id: str | None = None) -> None:
        """``domain`` is not among the first ``results_scanned`` results (the search worked),
        searched from ``exit_country`` through ``proxy_id``."""
        self.answers[domain] = Answer(None, None, results_scanned)

    @event("SearchTaskCompleted")
    def completed(self, results_scanned: int, pages: int, ranked: int,
                  features: dict[str, int] | None = None, layout: str = "",
                  no_results: bool = False, evidence: list[str] | None = None,
                  definition: str = "", notices: list[str] | None = None) -> None:
        """The search worked; one PositionRecorded or DomainNotRanked per target precedes it.

        ``features``: the SERP features of the first results page (feature -> count, e.g.
        ``{"ads_top": 3, "people_also_ask": 1}``); ``layout``: which of the engine's layouts
        read the page; ``no_results``: the engine said there are none and a second search
        through another route confirmed it (``results_scanned`` is then 0); ``evidence``:
        the hashes of the results pages read, in order (kept by ``vipb rank evidence``);
        ``definition``: the version of the engine definition that read them; ``notices``:
        what the pages showed besides results (``consent``: a consent dialog over them)."""
        self.state = "completed"
        self.evidence = list(evidence or [])
        self.definition = definition

    @event("PositionRevised")
    def revised(self, domain: str, old_position: int | None, new_position: int | None,
                old_url: str | None, new_url: str | None, results_scanned: int,
                definition: str, old_definition: str, title: str = "") -> None:
        """A re-read of the stored pages with ``definition`` (a newer engine definition
        than ``old_definition``) gives ``domain`` another answer: ``new_position`` (None:
        not ranked in ``results_scanned``) instead of ``old_position``. The original
        answer stays on record; views show the revised one, marked."""
        self.answers[domain] = Answer(new_position, new_url, results_scanned)
        self.definition = definition

    @event("SearchTaskCancelled")
    def cancelled(self, reason: str) -> None:
        """Stopped before an outcome (by request)."""
        self.state = "cancelled"


class Schedule(Aggregate):
    """A cron schedule that queues rank-tracking searches."""

    @event("ScheduleCreated")
    def __init__(self, id: UUID, name: str, cron: str, timezone: str,
                 keywords: list[str] | None, profile: str, proxy: str,
                 starts_at: datetime, searches: bool = True,
                 creators: list[str] | None = None, all_creators: bool = False) -> None:
        self.searches = searches  # events before creator watch: searches only
        self.creators = creators  # names to check, or every enabled one (all_creators)
        self.all_creators = all_creators
        self.name = name
        self.starts_at = starts_at  # runs are counted from here (the scheduler's clock)
        self.proxy = proxy
        self.cron = cron
        self.timezone = timezone
        self.keywords = keywords
        self.profile = profile
        self.paused = False
        self.removed = False
        self.last_fire: datetime | None = None  # the cron time of the last trigger

    @event("ScheduleTriggered")
    def triggered(self, scheduled_for: datetime, missed: int, task_ids: list[str],
                  note: str | None, creators: list[str] | None = None) -> None:
        """The schedule fired for ``scheduled_for`` (``missed`` > 0: runs owed while no host
        was up were folded into this one); ``note`` says why no task was queued;
        ``creators``: the creators whose checks it queued (a creator whose last check is
        still queued or running is passed over)."""
        self.last_fire = scheduled_for

    @property
    def checks_creators(self) -> bool:
        """Does this schedule check creators?"""
        return self.all_creators or bool(self.creators)

    @event("ScheduleRunOnRequest")
    def ran_on_request(self, at: datetime, task_ids: list[str], note: str | None,
                       creators: list[str] | None = None) -> None:
        """Run at ``at`` because someone asked (``vipb schedule run-now``), paused or not;
        its cron runs stay as they were."""

    def pause(self) -> bool:
        """No more triggers until resumed; False (nothing recorded) when already paused."""
        if self.paused:
            return False
        self._paused()
        return True

    @event("SchedulePaused")
    def _paused(self) -> None:
        self.paused = True

    def resume(self, resumed_at: datetime) -> bool:
        """Triggers again from ``resumed_at`` on (runs while paused are not owed); False
        (nothing recorded) when it was not paused."""
        if not self.paused:
            return False
        self._resumed(resumed_at)
        return True

    @event("ScheduleResumed")
    def _resumed(self, resumed_at: datetime) -> None:
        self.paused = False
        self.last_fire = resumed_at

    def next_run(self) -> datetime | None:
        """When the schedule fires next (None while paused or removed); a time in the past
        means it is due."""
        if self.paused or self.removed:
            return None
        return cron_times.next_after(self.cron, self.timezone, self.last_fire or self.starts_at)

    def due(self, now: datetime) -> tuple[datetime | None, int]:
        """The run owed at ``now``, if any: the latest cron time not yet fired, and how many
        earlier ones were missed (folded into it: a host that was down owes one run)."""
        if self.paused or self.removed:
            return None, 0
        latest, count = cron_times.due(self.cron, self.timezone,
                                       self.last_fire or self.starts_at, now)
        return latest, (count - 1 if latest is not None else 0)

    @event("ScheduleRemoved")
    def remove(self) -> None:
        """Gone for good (its name can be used again)."""
        self.removed = True
