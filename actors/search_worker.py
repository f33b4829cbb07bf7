"""The ``SearchWorker``: runs one search task in its own tab, with bounded retries (the job
the task runner runs for searches, in its own thread).

One attempt: open a tab (proxy from the rotation engine, privacy profile of the task's
device), load results pages until ``depth`` organic results are read or the engine has no
more, close the tab, record a position (with the title that ranked) or "not ranked in N
results" per target domain, and the SERP features of the first page. A failed attempt
(proxy, navigation, HTTP error, captcha, unreadable page) is recorded and retried after a
jittered, capped exponential backoff (tenacity) in a new tab, usually behind another proxy.
Waits are interruptible: stop-search and host shutdown do not wait out a backoff.

On a shared store the runner holds the task's claim for the worker (``ClaimHolder``); the
worker releases it when the host stops first, and ends quietly when a write finds the task
changed by another host (its claim was taken over): the other host records the outcome,
this one records nothing more.

"No results" must be earned: engines answer clients they distrust with an empty result
page, so an engine's "no results" is recorded (``DomainNotRanked`` with ``results_scanned=0``)
only when a second search through another proxy and a one-off fresh profile says the same.
When the second search lists results, those are the search's results (the first answer is
on record as a ``suspicious_no_results`` attempt); when it cannot be made or fails, the
search fails with reason ``suspicious_no_results``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pykka
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from actors.cancel import CancelToken
from actors.claims import ClaimHolder, ClaimLost
from actors.fetch_ways import FetchWays
from actors.page_keeping import LOST, PagesKept
from actors.retries import RetryPolicy
from actors.route_planner import RoutePlanner, Ticket
from actors.tab_actor import TabActor
from actors.tab_supervisor import TabSupervisorActor, close_tab, open_prepared
from adapters.evidence import EvidenceStore, ReadablePage, readable
from adapters.pagefetch import FetchError, Stop
from adapters.serp import Engine, Engines, Gathered, SerpBlockedError, SerpError, SerpResult
from domain.errors import (
    BaseError,
    EgressRefusedError,
    ProfileNotFoundError,
    ProxyNotFoundError,
)
from domain.rank import FailureReason, SearchTask
from domain.ranking import rank
from domain.route_fault import RouteFault
from domain.selection import NoProxyInCountryError
from domain.text_limits import ERROR_CHARS, capped

log = logging.getLogger(__name__)

TIMEOUT = 300.0
# what an HTTP page of an ``auto`` engine may say to send the attempt on to a tab
FALL_BACK = (FailureReason.BLOCKED, FailureReason.UNREADABLE)
# what an attempt may meet because of the proxy it went through (its exit challenged or
# limited, or the page not loaded): the search's next attempts pass that proxy over
PROXY_FAILURES = frozenset({FailureReason.BLOCKED, FailureReason.HTTP_ERROR,
                            FailureReason.LOAD_FAILED})


class AttemptFailed(Exception):
    """One attempt failed; ``retryable`` when another attempt may not meet the reason (a
    profile or proxy that does not exist fails every attempt the same way); ``evidence``:
    the pages it got (kept: a captcha, an unreadable page)."""

    def __init__(self, message: str, reason: FailureReason, retryable: bool = True,
                 evidence: list[str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.evidence = evidence or []


class Cancelled(Exception):
    """The token was set."""


@dataclass(frozen=True)
class Exit:
    """Where an attempt left from: its proxy (None: direct) and that route's country, and
    how the country is known (``validated``, ``declared``, ``direct``, ``unknown``)."""

    proxy_id: str | None
    country: str | None = None
    basis: str = "unknown"


@dataclass(frozen=True)
class Reading:
    """What one attempt read: the organic results, pages loaded, the first page's SERP
    features and layout, whether the engine said "no results", where it left from, the
    pages being kept, the engine definition that read them, and what the pages showed
    besides results."""

    results: list[SerpResult]
    pages: int
    features: dict[str, int]
    layout: str
    no_results: bool
    exit: Exit
    evidence: PagesKept
    definition: str
    notices: list[str]

    @property
    def proxy_id(self) -> str | None:
        """The proxy it went through (None: direct)."""
        return self.exit.proxy_id


Outcome = Callable[[str, bool, float | None], None]


@dataclass(frozen=True)
class SearchParts:
    """What every search needs besides its task: tabs, where routes are made, engines,
    the retry policy, where proxy outcomes are reported, where pages are kept (None: not
    kept) and how they are fetched (``ways``, shared by every search of the host)."""

    tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]]
    planner: Callable[[], RoutePlanner]
    engines: Engines
    policy: RetryPolicy
    outcome: Outcome | None = None
    evidence: EvidenceStore | None = None
    ways: FetchWays = field(default_factory=FetchWays)


class SearchWorker:
    """Runs one ``SearchTask`` to an outcome, in the task runner's thread for it."""

    def __init__(self, holder: ClaimHolder[SearchTask], token: CancelToken,
                 parts: SearchParts) -> None:
        self._claim = holder
        self._task = holder.task
        self._lease = holder.lease
        self._token = token
        self._tabs = parts.tabs
        self._planner = parts.planner
        self._engines = parts.engines
        self._policy = parts.policy
        self._outcome = parts.outcome
        self._evidence = parts.evidence
        self._ways = parts.ways
        # proxies an attempt of this search failed through (load, HTTP error, challenge):
        # its next attempts go elsewhere while another proxy is available, as a person
        # switches proxies after one failed rather than waiting for its breaker to open
        self._failed_via: list[str] = []

    @classmethod
    def perform(cls, parts: SearchParts) -> Callable[[ClaimHolder[SearchTask], CancelToken],
                                                     None]:
        """The task runner's job for searches."""
        return lambda holder, token: cls(holder, token, parts).run()

    def run(self) -> None:
        """Do the task; a bug still gives it an outcome on record (``ClaimLost`` goes to
        the runner: the other host records the outcome)."""
        try:
            self._run()
        except ClaimLost:
            raise
        except Exception as exc:
            log.exception("search task %s: unexpected error", self._task.id)
            self._give_up(f"internal error: {type(exc).__name__}: {exc}")

    def _commit(self, change: Callable[[SearchTask], None]) -> None:
        """Apply ``change`` to the task and save it; on a shared store a version conflict
        means another host holds the task now (``ClaimLost``)."""
        self._claim.commit(change)

    def _retrying(self, attempts: int | None = None) -> Retrying:
        """Retries with the policy's backoff, ``attempts`` in all (default: the policy's)."""
        policy = self._policy
        return Retrying(
            stop=stop_after_attempt(attempts or policy.attempts),
            wait=wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum,
                                         jitter=policy.jitter),
            retry=retry_if_exception(lambda e: isinstance(e, AttemptFailed) and e.retryable),
            sleep=self._token.sleep,
            before_sleep=self._retry_recorded,
            reraise=True,
        )

    def _run(self) -> None:
        task = self._task
        attempts = iter(range(task.attempts + 1, 1_000_000))  # a resumed task counts on
        # attempts that failed before (on any host) count against the limit: a task taken
        # over gets what is left of it, and at least one attempt (it was interrupted)
        left = max(1, self._policy.attempts - task.failures_so_far)
        try:
            reading = self._retrying(left)(lambda: self._attempt(next(attempts)))
            if reading.no_results:
                reading = self._second_opinion(reading, attempts)
        except Cancelled:
            self._cancelled()
            return
        except AttemptFailed as exc:
            error, reason, pages = capped(str(exc), ERROR_CHARS), exc.reason.value, exc.evidence
            self._commit(lambda t: t.failed(attempt=t.attempts, error=error, retry_in=None,
                                            reason=reason, evidence=pages))
            return
        self._record(reading)

    def _second_opinion(self, first: Reading, attempts: Iterator[int]) -> Reading:
        """Search again through another proxy (when the rotation engine picks) and a fresh
        one-off profile; its answer stands, whichever it is (see the module docstring)."""
        task = self._task
        name = self._engine().definition.label
        self._commit(lambda t: t.failed(
            attempt=t.attempts, retry_in=0.0,
            error=f"{name} said there are no results; asking again through another proxy "
                  "and a fresh profile before believing it",
            reason=FailureReason.SUSPICIOUS_NO_RESULTS.value, evidence=first.evidence.hashes()))
        avoid = (first.proxy_id,) if first.proxy_id and task.proxy == "auto" else ()
        try:
            return self._retrying()(lambda: self._attempt(next(attempts), avoid, fresh=True))
        except AttemptFailed as exc:
            raise AttemptFailed(f"{name} said there are no results and the second search "
                                f"could not confirm it: {exc}",
                                FailureReason.SUSPICIOUS_NO_RESULTS, retryable=False) from None

    def _record(self, reading: Reading) -> None:
        """The outcome, queued once its pages are kept: the task runner reports the task
        done once it is stored, and gives this worker's slot to the next search meanwhile
        (which took the wait for the pages' writes, ~8 ms, off every search's path)."""
        def outcome(task: SearchTask) -> None:
            try:
                self._outcome_of(task, reading)
            except Exception as exc:  # applied after this worker went on: on record here
                log.exception("search task %s: unexpected error", task.id)
                if not task.finished:
                    task.failed(attempt=task.attempts, retry_in=None,
                                error=capped(f"internal error: {type(exc).__name__}: {exc}",
                                             ERROR_CHARS),
                                reason=FailureReason.INTERNAL.value)

        self._claim.queue_after(reading.evidence.writes, outcome)

    @staticmethod
    def _outcome_of(task: SearchTask, reading: Reading) -> None:
        """The positions (or "not ranked") and the completion, saved as one."""
        urls = [r.url for r in reading.results]
        titles = {r.url: r.title for r in reading.results}
        rankings = rank(urls, task.domains)
        route = reading.exit
        for r in rankings:
            if r.position is None:
                task.not_ranked(domain=r.domain, results_scanned=r.scanned,
                                exit_country=route.country, proxy_id=route.proxy_id)
            else:
                assert r.url is not None
                task.position_recorded(domain=r.domain, position=r.position, url=r.url,
                                       results_scanned=r.scanned, title=titles.get(r.url, ""),
                                       exit_country=route.country, proxy_id=route.proxy_id)
        task.completed(results_scanned=len(urls), pages=reading.pages,
                       ranked=sum(r.position is not None for r in rankings),
                       features=reading.features, layout=reading.layout,
                       no_results=reading.no_results, evidence=reading.evidence.hashes(),
                       definition=reading.definition,
                       notices=sorted({*reading.notices, *([LOST] if reading.evidence.lost
                                                           else [])}))

    def _give_up(self, error: str) -> None:
        task = self._task
        try:
            if not task.finished:
                self._commit(lambda t: t.failed(attempt=t.attempts,
                                                error=error.splitlines()[0][:500],
                                                retry_in=None,
                                                reason=FailureReason.INTERNAL.value))
        except ClaimLost:
            log.warning("search task %s: another host took it over", task.id)
        except Exception:
            log.exception("search task %s: recording the failure failed", task.id)

    def _retry_recorded(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = error.reason if isinstance(error, AttemptFailed) else FailureReason.INTERNAL
        pages = error.evidence if isinstance(error, AttemptFailed) else []
        self._commit(lambda t: t.failed(attempt=t.attempts, error=capped(str(error), ERROR_CHARS),
                                        retry_in=round(wait, 2), reason=reason.value,
                                        evidence=pages))

    def _cancelled(self) -> None:
        token, lease = self._token, self._lease
        if self._claim.lost:
            return  # the host that took the task over records what happens to it

        def change(task: SearchTask) -> None:
            if token.interrupted:  # stays pending: the next host start resumes it
                task.failed(attempt=task.attempts, error=f"interrupted: {token.reason}",
                            retry_in=0.0, reason=FailureReason.INTERRUPTED.value)
                if lease is not None:  # another host may take it at once
                    task.released(host_id=lease.host_id, reason=token.reason)
            else:
                task.cancelled(reason=token.reason or "stopped")
        self._commit(change)

    # --- one attempt ---------------------------------------------------------------------------

    def _engine(self) -> Engine:
        try:
            return self._engines.get(self._task.engine)
        except SerpError as exc:  # unknown engine, or its definition file broke meanwhile
            raise AttemptFailed(exc.message, FailureReason.UNREADABLE, retryable=False) from None

    def _attempt(self, attempt: int, avoid: tuple[str, ...] = (),
                 fresh: bool = False) -> Reading:
        """One attempt: a route (proxy and profile), then the pages over HTTP or in a tab
        behind it (see ``actors.fetch_ways``); an ``auto`` engine whose HTTP page is a
        challenge or unreadable goes on in a tab behind the same route."""
        if self._token.is_set:
            raise Cancelled()
        engine = self._engine()
        ticket = self._ticket(attempt, engine, avoid, fresh)
        try:
            return self._through(attempt, engine, ticket, fresh)
        except AttemptFailed as exc:
            if exc.reason in PROXY_FAILURES and ticket.proxy_id and self._task.proxy == "auto" \
                    and ticket.proxy_id not in self._failed_via:
                self._failed_via.append(ticket.proxy_id)
            raise

    def _through(self, attempt: int, engine: Engine, ticket: Ticket, fresh: bool) -> Reading:
        """The attempt's pages behind the ticket's route: over HTTP, in a tab, or over HTTP
        and then in a tab (an ``auto`` engine's challenge or unreadable page)."""
        route = Exit(ticket.proxy_id, ticket.route.exit_country, ticket.route.exit_basis)
        declared = engine.definition.fetch
        held = True  # the route is this worker's to release until a tab takes it over
        try:
            if self._ways.way(engine.name, declared, ticket.proxy_id) == "http":
                self._record_start(attempt, route, ticket, fetch="http")
                try:
                    return self._read_pages(engine, _HttpPages(ticket, self._token,
                                                               self._outcome),
                                            route, blame=declared == "http")
                except AttemptFailed as exc:
                    if declared != "auto" or exc.reason not in FALL_BACK:
                        raise
                    self._fall_back(attempt, engine, ticket, exc)
            held = False
            return self._in_tab(attempt, engine, ticket, route, fresh)
        finally:
            if held:
                self._release(ticket.key)

    def _ticket(self, attempt: int, engine: Engine, avoid: tuple[str, ...],
                fresh: bool) -> Ticket:
        """The attempt's route and profile (``AttemptFailed`` when there is none)."""
        task = self._task
        place = task.place
        # the search's country is where it must leave from, unless any exit may stand in
        require = None if place.any_exit_country else place.country
        try:
            first_page = self._url(engine, 0, 0)  # for the pick
            planner = self._planner()
            ticket = planner.ticket(first_page, task.profile, task.proxy, task.country, avoid,
                                    task.device if fresh else None, require,
                                    tuple(self._failed_via))
        except NoProxyInCountryError as exc:
            self._record_start(attempt, Exit(None))
            raise AttemptFailed(exc.message, FailureReason.NO_PROXY_IN_COUNTRY,
                                retryable=not exc.permanent) from None
        except BaseError as exc:
            self._record_start(attempt, Exit(None))
            permanent = isinstance(exc, ProfileNotFoundError | ProxyNotFoundError)
            raise AttemptFailed(f"no tab: {exc.message}", FailureReason.NO_TAB,
                                retryable=not permanent) from None
        try:  # told: this worker's later messages to the supervisor come after it
            self._tabs().hold(ticket)
        except pykka.ActorDeadError:  # the host is stopping
            planner.release(ticket.route)
            self._record_start(attempt, Exit(None))
            raise AttemptFailed("no tab: the tab supervisor has stopped",
                                FailureReason.NO_TAB) from None
        return ticket

    def _release(self, key: str) -> None:
        """Give the route back; not waited for (the supervisor handles this worker's
        messages in order, and a release cannot fail but for a stopping supervisor, whose
        routes go with it)."""
        with contextlib.suppress(pykka.ActorDeadError):
            self._tabs().release(key)

    def _fall_back(self, attempt: int, engine: Engine, ticket: Ticket,
                   exc: AttemptFailed) -> None:
        """HTTP met a challenge or an unreadable page: on record, remembered for this
        engine and proxy, and the attempt goes on in a tab."""
        log.info("search task %s: %s over HTTP (%s); reading it in a tab", self._task.id,
                 engine.name, exc)
        self._ways.remember(engine.name, ticket.proxy_id)
        error, reason, pages = capped(str(exc), ERROR_CHARS), exc.reason.value, exc.evidence
        self._commit(lambda t: t.fell_back(attempt=attempt, reason=reason, error=error,
                                           evidence=pages))

    def _in_tab(self, attempt: int, engine: Engine, ticket: Ticket, route: Exit,
                fresh: bool) -> Reading:
        """Read the pages in a search tab behind the ticket's route: a warm one of the
        same profile and proxy if one is parked, else a new one (see ``TabSupervisorActor``).
        A search that worked parks its tab; one that did not closes it."""
        task = self._task
        try:
            tab_id, tab, warm = self._tabs().tab_on(ticket.key).get(timeout=TIMEOUT)
        except BaseError as exc:
            self._release(ticket.key)
            self._record_start(attempt, Exit(None))
            raise AttemptFailed(f"no tab: {exc.message}", FailureReason.NO_TAB) from None
        if not warm:
            try:
                open_prepared(self._tabs(), tab_id, tab,
                              "rank re-check" if fresh else "rank searches",
                              ticket.route.reason, TIMEOUT, purpose="search")
            except BaseError as exc:
                self._record_start(attempt, Exit(None))
                raise AttemptFailed(f"no tab: {exc.message}", FailureReason.NO_TAB) from None
        self._record_start(attempt, route, ticket, tab_id=tab_id)
        parked = False
        try:
            reading = self._read_pages(engine, _TabPages(tab, self._token), route)
            parked = self._tabs().park(tab_id).get(timeout=TIMEOUT)
            return reading
        finally:
            if not parked:
                try:
                    close_tab(self._tabs(), tab_id, "search attempt finished", TIMEOUT)
                except Exception:
                    log.warning("search task %s: closing tab %s failed", task.id, tab_id)

    def _record_start(self, attempt: int, route: Exit, ticket: Ticket | None = None,
                      fetch: str = "browser", tab_id: str = "") -> None:
        """The attempt began (``ticket``: its route and profile, None: it got none; in
        tab ``tab_id``, or over HTTP). Queued, not waited for: the page loads while it is
        stored, and whatever the attempt records next waits for it (``ClaimHolder.queue``),
        which took a commit's wait off every search's path."""
        profile_id = ticket.profile_id if ticket is not None else None
        self._claim.queue(lambda t: t.started(attempt=attempt, proxy_id=route.proxy_id,
                                              tab_id=tab_id, exit_country=route.country,
                                              exit_basis=route.basis, fetch=fetch,
                                              profile_id=profile_id))

    def _url(self, engine: Engine, offset: int, pages: int) -> str:
        """The results page holding results ``offset + 1`` onwards, asked from the task's
        place (country, location, language)."""
        task, place = self._task, self._task.place
        return engine.url(task.keyword, offset, place.country, pages, place.language,
                          place.location)

    def _read_pages(self, engine: Engine, pages: _Pages, route: Exit,
                    blame: bool = True) -> Reading:
        """Load results pages until ``depth`` results are read or the engine has no more,
        each kept (evidence) while it is read. ``blame``: a challenge counts against the
        route's proxy (not when a tab will try the same proxy next)."""
        task = self._task
        gathered = Gathered(task.depth)
        kept = PagesKept(self._evidence, task.id)
        more = True
        while more:
            if self._token.is_set:
                raise Cancelled()
            url = self._url(engine, len(gathered.results), gathered.pages)
            try:
                final, status, content = pages.load(url)
                kept.keep(content.html, final)
                if status is not None and status >= 400:
                    raise AttemptFailed(f"{engine.name} answered HTTP {status}",
                                        FailureReason.HTTP_ERROR, evidence=kept.hashes())
                page = engine.parse(content.html, final, content.tree)
            except SerpBlockedError as exc:
                if blame and route.proxy_id and self._outcome:
                    self._outcome(route.proxy_id, False, None)  # this exit IP is challenged
                raise AttemptFailed(exc.message, FailureReason.BLOCKED,
                                    evidence=kept.hashes()) from None
            except SerpError as exc:
                raise AttemptFailed(exc.message, FailureReason.UNREADABLE,
                                    evidence=kept.hashes()) from None
            except EgressRefusedError as exc:
                raise AttemptFailed(exc.message, FailureReason.REFUSED, retryable=False,
                                    evidence=kept.hashes()) from None
            except BaseError as exc:
                if self._token.is_set:
                    raise Cancelled() from None  # the load was aborted by the stop
                raise AttemptFailed(exc.message, FailureReason.LOAD_FAILED,
                                    evidence=kept.hashes()) from None
            more = gathered.add(page)
        return Reading(gathered.read, gathered.pages, gathered.features, gathered.layout,
                       gathered.no_results, route, kept, engine.version,
                       sorted(gathered.notices))


class _Pages(Protocol):
    """Where an attempt's pages come from: a tab, or the HTTP tier."""

    def load(self, url: str) -> tuple[str, int | None, ReadablePage]:
        """Load ``url``: (the URL it ended at, its status, the page as readers see it).
        Raises ``BaseError`` (``EgressRefusedError``: refused; a stop aborts the load)."""
        ...


class _TabPages:
    """Pages loaded in a tab (the tab records each navigation and reports its proxy)."""

    def __init__(self, tab: pykka.ActorProxy[TabActor], token: CancelToken) -> None:
        self._tab = tab
        self._token = token

    def load(self, url: str) -> tuple[str, int | None, ReadablePage]:
        """See ``_Pages``."""
        page_handle = self._tab.page_handle().get(timeout=TIMEOUT)
        with self._token.aborting(page_handle.abort):
            nav = self._tab.navigate(url).get(timeout=TIMEOUT)
        return nav["url"], nav["status"], readable(self._tab.content().get(timeout=TIMEOUT))


class _HttpPages:
    """Pages fetched over HTTP in the ticket's session, in this worker's thread, each next
    page followed from the one before (its referer); the proxy's outcome is reported as a
    tab reports it."""

    def __init__(self, ticket: Ticket, token: CancelToken, outcome: Outcome | None) -> None:
        self._fetcher = ticket.fetcher
        self._ticket = ticket
        self._token = token
        self._outcome = outcome
        self._referer: str | None = None

    def load(self, url: str) -> tuple[str, int | None, ReadablePage]:
        """See ``_Pages``."""
        ticket, proxy_id = self._ticket, self._ticket.proxy_id
        stop = Stop()
        try:
            with self._token.aborting(stop.set):
                page = self._fetcher.fetch(ticket.session, ticket.setup, url, self._referer,
                                           stop)
        except FetchError as exc:
            if exc.fault is RouteFault.PROXY and proxy_id and self._outcome:
                self._outcome(proxy_id, False, None)
            raise
        if proxy_id and self._outcome:
            self._outcome(proxy_id, True, page.latency_ms)
        self._referer = page.url
        return page.url, page.status, readable(page.html)
