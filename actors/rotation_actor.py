"""``RotationActor``: picks proxies with the configured strategy and keeps every decision,
sticky binding, breaker transition and usage summary on record."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from actors.base import VipbActor
from actors.periodic import Every
from actors.writer import COMMIT_TIMEOUT, EventWriter
from adapters.store import Pending
from domain.breaker import BreakerPolicy, BreakerState, CircuitBreaker, Transition
from domain.breaker_record import CircuitBreakerRecord, breaker_id
from domain.errors import ConcurrencyError, ValidationError
from domain.proxy import Proxy
from domain.results import Ack
from domain.rotation_config import ROTATION_CONFIG_ID, RotationConfig
from domain.rotation_journal import RotationJournal, journal_id
from domain.selection import (
    Candidate,
    CandidatePool,
    CountryView,
    NoProxyAvailableError,
    NoProxyInCountryError,
    Selection,
    SelectionContext,
    Strategy,
)
from domain.selection.registry import build_strategy
from domain.selection.sticky import StickyRecord, StickySession

log = logging.getLogger(__name__)

USAGE_FLUSH_EVERY = 100  # outcomes of one proxy before its usage summary is written
# Lapsed sticky bindings are put on record (StickySessionExpired) and dropped a quarter of
# their ttl after they lapse, at most a minute, at least a second: the sticky_sessions view
# says which sessions still hold, and a months-long run does not keep every domain it ever
# bound in memory. (A pick never uses a lapsed binding, swept or not.)
STICKY_SWEEP_MAX = 60.0
STICKY_SWEEP_MIN = 1.0


def sweep_interval(strategy: Strategy | None) -> float | None:
    """Seconds between sweeps of ``strategy``'s lapsed bindings (None: it binds nothing)."""
    if not isinstance(strategy, StickySession):
        return None
    return min(STICKY_SWEEP_MAX, max(STICKY_SWEEP_MIN, strategy.ttl / 4))


@dataclass(frozen=True)
class SweepSessions:
    """Told by the sweeper thread: expire lapsed sticky bindings now."""


def candidate_of(proxy: Proxy) -> Candidate:
    """What selection needs to know about a proxy aggregate."""
    return Candidate(id=str(proxy.id), weight=proxy.weight, country=proxy.country,
                     region=getattr(proxy, "region", None),
                     tags=frozenset(proxy.tags), max_concurrency=proxy.max_concurrency)


class CandidateBox:
    """A coalescing one-way channel into the rotation engine: proxy actors put the latest
    ``Candidate`` of a proxy, the engine applies what is there before its next decision.

    It replaces one told message (and one wake-up of the engine's thread) per proxy update
    on the hot path; only the newest state per proxy is kept, so it stays bounded.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Candidate] = {}

    def put(self, candidate: Candidate) -> None:
        """Offer the newest state of a proxy (replaces an unapplied older one)."""
        with self._lock:
            self._latest[candidate.id] = candidate

    def drain(self) -> list[Candidate]:
        """Take everything offered so far."""
        with self._lock:
            latest, self._latest = self._latest, {}
        return list(latest.values())


def sticky_record(ev: object) -> StickyRecord | None:
    """The sticky step a journal event records, if any."""
    name = type(ev).__name__
    if name == "RotationApplied" and getattr(ev, "strategy", None) == StickySession.name:
        context: dict[str, str] = ev.context  # type: ignore[attr-defined]
        ctx = SelectionContext(url=context.get("url"), domain=context.get("domain"))
        domain, when = ctx.target_domain(), context.get("now")
        if domain is None or when is None:
            return None
        return StickyRecord(proxy_id=ev.proxy_id,  # type: ignore[attr-defined]
                            domain=domain, at=datetime.fromisoformat(when).timestamp())
    if name == "StickySessionExpired":
        return StickyRecord(proxy_id=ev.proxy_id, key=ev.key)  # type: ignore[attr-defined]
    return None


@dataclass(frozen=True)
class Pick:
    """A selection with what a tab needs to know of its proxy from the rotation engine:
    its declared country and where it leaves from (see ``RotationActor.exit_of``), in the
    same message as the pick (a search asked for each apart before: two more round trips
    through a busy actor per search)."""

    selection: Selection
    declared: str | None
    exit_country: str | None
    exit_basis: str


@dataclass
class _Usage:
    """One proxy's outcomes since its last summary: uses (a pick, then its outcome) apart
    from health checks, so that a use's success rate is never inflated by checks."""

    requests: int = 0
    successes: int = 0
    failures: int = 0
    checks: int = 0
    checks_failed: int = 0
    latency_total: float = 0.0
    latency_samples: int = 0

    def outcomes(self) -> int:
        """Uses and checks counted so far."""
        return self.successes + self.failures + self.checks


class RotationActor(VipbActor):
    """Owns the candidate pool, the strategy, the breakers and today's rotation journal."""

    def __init__(self, writer: EventWriter, proxy_ids: Callable[[], list[str]],
                 policy: BreakerPolicy | None = None,
                 clock: Callable[[], float] = time.time,
                 changes: CandidateBox | None = None, host: str | None = None,
                 exits: Callable[[], dict[str, str]] | None = None) -> None:
        """``host``: this host's id when hosts share the store (its own journals);
        ``exits``: where validations saw the proxies leave from (read at the first pick
        that needs it; validations from then on arrive through ``health_many``)."""
        super().__init__()
        self._load_exits = exits
        self._host = host
        self.changes = changes or CandidateBox()
        self._writer = writer
        self._proxy_ids = proxy_ids
        self._policy = policy or BreakerPolicy()
        self._clock = clock
        self.pool = CandidatePool()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._usage: dict[str, _Usage] = {}
        self._journal: RotationJournal | None = None
        self._queued: Pending | None = None  # the last pick's record, not waited for
        self._strategy: Strategy | None = None
        self._in_country: dict[str, Strategy] = {}  # the strategy over one country's proxies
        self._configured: tuple[str, dict[str, object]] | None = None
        self._hosts = 1  # hosts sharing the store: each uses its share of a proxy's limit
        self._limits: dict[str, int] = {}  # each proxy's max_concurrency as configured
        self.strategy_name = "round_robin"
        self._sweeper: Every | None = None

    def on_start(self) -> None:
        """Load proxies, their breakers and the configured strategy."""
        for proxy_id in self._proxy_ids():
            proxy = self._writer.load(Proxy, UUID(proxy_id))
            if proxy is not None and not proxy.removed:
                self._add(candidate_of(proxy))
        config = self._writer.load(RotationConfig, ROTATION_CONFIG_ID)
        if config is None:
            self.configure("round_robin", {})
        elif self._configure_stored(config) and isinstance(self._strategy, StickySession):
            self._strategy.restore(self._sticky_record(self._strategy.ttl, config.modified_on))
        self._start_sweeping()

    def _sticky_record(self, ttl: float, configured: datetime) -> list[StickyRecord]:
        """Sticky picks and expiries on record since the strategy was last set, from the
        journals of the days a binding can still be alive (its ttl, at most 31 days)."""
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        days = min(31, int(ttl // 86400) + 1)
        records = []
        for back in range(days, -1, -1):
            for ev in self._writer.events_of(journal_id(today - timedelta(days=back),
                                                        self._host)):
                if ev.timestamp <= configured:
                    continue  # picks of an earlier configuration bind nothing now
                record = sticky_record(ev)
                if record is not None:
                    records.append(record)
        return records

    def _start_sweeping(self) -> None:
        ref = self.actor_ref
        self._sweeper = Every(lambda: sweep_interval(self._strategy),
                              lambda: ref.tell(SweepSessions()), name="vipb-sticky-sweep")
        self._sweeper.start()

    def on_receive(self, message: object) -> object:
        """``SweepSessions``: expire lapsed sticky bindings (on record)."""
        if isinstance(message, SweepSessions):
            try:
                self.expire_sessions()
            except Exception:
                log.exception("recording expired sticky sessions failed; will retry")
        return None

    def on_stop(self) -> None:
        """Stop sweeping; write pending usage summaries."""
        if self._sweeper is not None:
            self._sweeper.stop()
        self._settle_journal()
        try:
            self.flush_usage()
        except Exception:
            log.exception("could not write usage summaries on stop")

    # --- pool upkeep (told by the pool and proxy actors) ------------------------------------

    def _share(self, limit: int) -> int:
        """This host's share of a proxy's concurrency limit: the limit holds across hosts
        (at least one use each: with fewer slots than hosts the sum can exceed it)."""
        return max(1, limit // self._hosts)

    def set_hosts(self, hosts: int) -> None:
        """How many hosts share the store now (from their heartbeats): re-divide limits."""
        hosts = max(1, hosts)
        if hosts == self._hosts:
            return
        self._apply_changes()
        self._hosts = hosts
        for proxy_id, limit in self._limits.items():
            c = self.pool.get(proxy_id)
            if c is not None:
                self.pool.update(proxy_id, weight=c.weight, country=c.country, tags=c.tags,
                                 max_concurrency=self._share(limit), region=c.region)
        log.info("%d hosts share the store: each uses 1/%d of a proxy's concurrency limit",
                 hosts, hosts)

    def _add(self, candidate: Candidate) -> None:
        self._limits[candidate.id] = candidate.max_concurrency
        candidate.max_concurrency = self._share(candidate.max_concurrency)
        record = self._writer.load(CircuitBreakerRecord, breaker_id(f"proxy:{candidate.id}"))
        breaker = CircuitBreaker(self._policy)
        if record is not None:
            breaker.restore(BreakerState(record.state), record.opened_at)
        candidate.breaker_open = breaker.state is BreakerState.OPEN
        self._breakers[candidate.id] = breaker
        self.pool.add(candidate)

    def proxy_changed(self, candidate: Candidate) -> None:
        """A proxy was added or its selection-relevant fields changed."""
        if self.pool.get(candidate.id) is None:
            self._add(candidate)
            return
        self._limits[candidate.id] = candidate.max_concurrency
        self.pool.update(candidate.id, weight=candidate.weight, country=candidate.country,
                         region=candidate.region, tags=candidate.tags,
                         max_concurrency=self._share(candidate.max_concurrency),
                         latency_ms=candidate.latency_ms)

    def _apply_changes(self) -> None:
        for candidate in self.changes.drain():
            self.proxy_changed(candidate)

    def proxy_removed(self, proxy_id: str) -> None:
        """A proxy left the pool."""
        self._apply_changes()
        self.pool.remove(proxy_id)
        self._breakers.pop(proxy_id, None)
        self._limits.pop(proxy_id, None)
        self._usage.pop(proxy_id, None)  # its stats row goes with it

    def _configure_stored(self, config: RotationConfig) -> bool:
        """Apply the stored strategy; one that this release refuses (say a rule pattern RE2
        cannot run, stored by an older release) falls back to round-robin, loudly."""
        try:
            self.configure(config.strategy, config.params)
        except ValidationError as exc:
            log.error("the stored %s rotation is not valid any more (%s): picking round_robin "
                      "until `vipb rotation set` stores a valid one", config.strategy, exc)
            self.configure("round_robin", {})
            return False
        return True

    def configure(self, strategy: str, params: dict[str, object]) -> None:
        """Switch to ``strategy`` (already validated when it was set)."""
        self._apply_changes()
        self._configured = (strategy, dict(params))
        self._strategy = build_strategy(strategy, dict(params), self.pool)
        self._in_country.clear()  # built again with the new strategy when asked for
        self.strategy_name = strategy
        if self._sweeper is not None:
            self._sweeper.wake()  # sweep as often as the new strategy needs

    # --- selection ---------------------------------------------------------------------------

    def _today(self, queued: bool = False) -> RotationJournal:
        """Today's journal. For a record saved and waited for, once the last queued record
        is stored. For one ``queued`` behind the last, without waiting for it: the committer
        stores the two in order and refuses the new one if the last was refused. A refusal
        already known means the journal holds events that are not stored: it is read again
        (what is in flight behind the refused record is refused too, so the store holds
        what it was read from)."""
        pending = self._queued
        if not queued:
            self._settle_journal()
        elif pending is not None and pending.refused is not None:
            self._queued = None
            log.warning("a proxy pick could not be put on record (%s); reading today's "
                        "rotation journal again", pending.refused)
            self._journal = None
        day = datetime.fromtimestamp(self._clock(), UTC).date()
        if self._journal is None or self._journal.day != day.isoformat():
            self._settle_journal()  # (a new day, or read again: nothing of it in flight)
            loaded = self._writer.load(RotationJournal, journal_id(day, self._host))
            self._journal = loaded or RotationJournal(day=day.isoformat(), host=self._host)
        return self._journal

    def _settle_journal(self) -> None:
        """The last pick's record is stored before the journal takes anything more, so
        its versions never skip one; refused, its events are gone (the log says so) and
        the journal is read again."""
        pending, self._queued = self._queued, None
        if pending is None:
            return
        try:
            pending.result(COMMIT_TIMEOUT)
        except Exception as exc:
            log.warning("a proxy pick could not be put on record (%s); reading today's "
                        "rotation journal again", exc)
            self._journal = None

    def select(self, ctx: SelectionContext | None = None,
               avoid: tuple[str, ...] = (), country: str | None = None,
               wait: bool = True, shun: tuple[str, ...] = ()) -> Selection:
        """Pick a proxy (none of ``avoid``, and none of ``shun`` while another is available;
        with ``country``, only one that serves it), count it as in use, and record the
        decision before returning it; with ``wait`` false the record is queued instead (see
        ``pick``).

        ``country`` is a requirement, not a preference: the strategy picks among the
        proxies whose declared country it is (and whose exit, where a validation saw it,
        is too); ``NoProxyInCountryError`` when none is available."""
        ctx = ctx or SelectionContext(now=datetime.fromtimestamp(self._clock(), UTC))
        assert self._strategy is not None
        self._apply_changes()
        self._half_open_due()
        strategy = self._strategy if country is None else self._strategy_in(country)
        with self.pool.holding(avoid):
            try:
                selection = self._passing_over(strategy, ctx, shun)
            except NoProxyAvailableError as exc:
                if country is None:
                    raise
                raise self._none_in(country, exc) from None
        self.pool.acquire(selection.proxy_id)
        journal = self._today(queued=not wait)
        if country is not None:
            selection = replace(selection,
                                reason=f"{selection.reason} (among the proxies in {country})")
        journal.applied(proxy_id=selection.proxy_id, strategy=selection.strategy,
                        reason=selection.reason, context=selection.context)
        if isinstance(strategy, StickySession) and strategy.last_bound:
            key, proxy_id = strategy.last_bound
            journal.bound(key=key, proxy_id=proxy_id, ttl_seconds=strategy.ttl)
        try:
            if wait:
                self._writer.save(journal)
            else:  # stored only if the record queued before it is (no version skipped)
                queued = Pending(after=self._queued)
                self._writer.submit(queued, journal)
                self._queued = queued
        except BaseException:
            self.pool.release(selection.proxy_id)
            self._journal = None  # reload: the pending events were not stored
            raise
        self._usage.setdefault(selection.proxy_id, _Usage()).requests += 1
        return selection

    def _passing_over(self, strategy: Strategy, ctx: SelectionContext,
                      shun: tuple[str, ...]) -> Selection:
        """The strategy's pick among the proxies other than ``shun`` (those that just
        failed the caller: a retry goes elsewhere), or among all when only those are left."""
        if shun:
            with self.pool.holding(shun), contextlib.suppress(NoProxyAvailableError):
                return strategy.select(ctx)
        return strategy.select(ctx)

    def pick(self, ctx: SelectionContext | None = None, avoid: tuple[str, ...] = (),
             country: str | None = None, shun: tuple[str, ...] = ()) -> Pick:
        """``select``, with the picked proxy's declared and exit countries, its record
        queued rather than waited for: a search records its start after it, and the group
        committer stores in order, so no attempt is on record before the pick it went by
        (a wall-clock profile had this commit at a tenth of an HTTP search's time, and the
        actor blocked for it meanwhile)."""
        selection = self.select(ctx, avoid, country, wait=False, shun=shun)  # changes applied
        self._known_exits()
        candidate = self.pool.get(selection.proxy_id)
        exit_country, basis = self._exit(candidate)
        return Pick(selection, candidate.country if candidate else None, exit_country, basis)

    def _known_exits(self) -> None:
        """Take the exits validations saw before this process started (once)."""
        if self._load_exits is not None:
            self.exits(self._load_exits())  # (raises when the views cannot be read: next time)
            self._load_exits = None

    def _strategy_in(self, country: str) -> Strategy:
        """The configured strategy over the proxies that serve ``country`` (built on first
        use, then kept current from the pool like the strategy itself)."""
        self._known_exits()
        found = self._in_country.get(country)
        if found is None:
            assert self._configured is not None
            name, params = self._configured
            found = build_strategy(name, dict(params), CountryView(self.pool, country))
            self._in_country[country] = found
        return found

    def _none_in(self, country: str, cause: NoProxyAvailableError) -> NoProxyInCountryError:
        """Why no proxy serves ``country`` now: none is declared there (or each one's exit
        was seen elsewhere: permanent), or those that are are busy or broken (for now)."""
        serving = [c for c in self.pool.by_id.values() if c.serves(country)]
        if serving:
            return NoProxyInCountryError(
                f"no proxy in {country} is available now ({len(serving)} there, all busy or "
                f"their circuit open): {cause}", country, permanent=False)
        declared = [c for c in self.pool.by_id.values() if c.country == country]
        seen = sorted({c.exit_country for c in declared if c.exit_country})
        elsewhere = (f" ({len(declared)} declared {country}, but validations saw them "
                     f"leave from {', '.join(seen)})" if declared else "")
        return NoProxyInCountryError(
            f"no proxy in {country}{elsewhere}: add one with --country {country}, or let "
            "the keyword use any exit country (--any-exit-country; the exit used is then "
            "recorded beside its positions)", country, permanent=True)

    def exit_seen(self, proxy_id: str, country: str | None) -> None:
        """A validation saw the proxy leave from ``country`` (None: the check URL does not
        tell; what was seen before stands)."""
        self._apply_changes()
        if country and self.pool.get(proxy_id) is not None:
            self.pool.set_exit(proxy_id, country)

    def exits(self, exits: dict[str, str]) -> None:
        """Exit countries validations saw (at start, and from other hosts)."""
        for proxy_id, country in exits.items():
            self.exit_seen(proxy_id, country)

    def exit_of(self, proxy_id: str) -> tuple[str | None, str]:
        """Where a proxy leaves from, and how that is known: (``country``, ``validated``)
        when a validation saw it, (declared country, ``declared``), or (None, ``unknown``)."""
        self._apply_changes()
        self._known_exits()
        return self._exit(self.pool.get(proxy_id))

    @staticmethod
    def _exit(candidate: Candidate | None) -> tuple[str | None, str]:
        if candidate is None:
            return None, "unknown"
        if candidate.exit_country:
            return candidate.exit_country, "validated"
        if candidate.country:
            return candidate.country, "declared"
        return None, "unknown"

    def _half_open_due(self) -> None:
        """Open breakers whose cool-down has passed go half-open (and become selectable)."""
        now = self._clock()
        for proxy_id, breaker in self._breakers.items():
            if breaker.state is BreakerState.OPEN:
                _, transition = breaker.allow(now)
                if transition is not None:
                    self._record_transition(proxy_id, transition)

    def release(self, proxy_id: str, ok: bool | None = None,
                latency_ms: float | None = None) -> Ack:
        """A use ended: its outcome feeds usage stats and the proxy's breaker."""
        self._apply_changes()
        self.pool.release(proxy_id, ok=ok, latency_ms=latency_ms)
        position = 0
        if ok is not None:
            position = self.report(proxy_id, ok, latency_ms).position
        return Ack(id=proxy_id, position=position, changed=bool(position))

    def health(self, proxy_id: str, ok: bool, latency_ms: float | None) -> Ack:
        """A health check's outcome: the measured latency and the breaker."""
        self._apply_changes()
        if latency_ms is not None and self.pool.get(proxy_id) is not None:
            self.pool.measured(proxy_id, latency_ms)
        return self.report(proxy_id, ok, latency_ms, check=True)

    def health_many(self, outcomes: list[tuple[str, bool, float | None]],
                    exits: dict[str, str] | None = None) -> None:
        """Many health-check outcomes in one message (a whole-pool validation), and the
        exit countries they saw."""
        for proxy_id, ok, latency_ms in outcomes:
            self.health(proxy_id, ok, latency_ms)
        self.exits(exits or {})

    def report(self, proxy_id: str, ok: bool, latency_ms: float | None = None,
               check: bool = False) -> Ack:
        """Count an outcome of a use (or, with ``check``, of a health check) for usage and
        the breaker."""
        usage = self._usage.setdefault(proxy_id, _Usage())
        if check:
            usage.checks += 1
            usage.checks_failed += not ok
        else:
            usage.successes += ok
            usage.failures += not ok
        if latency_ms is not None:
            usage.latency_total += latency_ms
            usage.latency_samples += 1
        breaker = self._breakers.get(proxy_id)
        position = 0
        if breaker is not None:
            transition = breaker.record(ok, self._clock())
            if transition is not None:
                position = self._record_transition(proxy_id, transition)
        if usage.outcomes() >= USAGE_FLUSH_EVERY:
            position = max(position, self.flush_usage([proxy_id]))
        return Ack(id=proxy_id, position=position, changed=bool(position))

    def _record_transition(self, proxy_id: str, transition: Transition) -> int:
        target = f"proxy:{proxy_id}"
        for attempt in (1, 2):  # a host sharing the store may record one at the same time
            record = self._writer.load(CircuitBreakerRecord, breaker_id(target))
            record = record or CircuitBreakerRecord(target=target)
            record.record(transition)
            try:
                ids = self._writer.save(record)
                break
            except ConcurrencyError:
                if attempt == 2:
                    raise
        if self.pool.get(proxy_id) is not None:
            self.pool.set_breaker(proxy_id, transition.new is BreakerState.OPEN)
        log.info("breaker of proxy %s: %s -> %s (%s)", proxy_id, transition.old.value,
                 transition.new.value, transition.reason)
        return ids[-1] if ids else 0

    def flush_usage(self, proxy_ids: list[str] | None = None) -> int:
        """Write usage summaries (all pending, or those of ``proxy_ids``); return position."""
        wanted = proxy_ids if proxy_ids is not None else list(self._usage)
        pending = [(p, u) for p in wanted if (u := self._usage.pop(p, None)) is not None
                   and (u.requests or u.outcomes())]
        if not pending:
            return 0  # nothing to say: do not even open today's journal
        journal = self._today()
        for proxy_id, usage in pending:
            journal.usage(proxy_id=proxy_id, requests=usage.requests,
                          successes=usage.successes, failures=usage.failures,
                          checks=usage.checks, checks_failed=usage.checks_failed,
                          latency_ms_total=round(usage.latency_total, 3),
                          latency_samples=usage.latency_samples)
        ids = self._writer.save(journal)
        return ids[-1] if ids else 0

    def expire_sessions(self) -> int:
        """Record and drop sticky bindings idle past their ttl (of the strategy and of its
        per-country instances); return the position."""
        gone = [binding for strategy in [self._strategy, *self._in_country.values()]
                if isinstance(strategy, StickySession)
                for binding in strategy.expire(self._clock())]
        if not gone:
            return 0
        journal = self._today()
        for key, proxy_id in gone:
            journal.expired(key=key, proxy_id=proxy_id)
        ids = self._writer.save(journal)
        return ids[-1] if ids else 0

    # --- what other hosts sharing the store record ----------------------------------------

    def breaker_recorded(self, proxy_id: str) -> None:
        """A transition of the proxy's breaker is on record (maybe another host's): take
        the recorded state, so a proxy opened elsewhere is not handed out here."""
        self._apply_changes()
        breaker = self._breakers.get(proxy_id)
        record = self._writer.load(CircuitBreakerRecord, breaker_id(f"proxy:{proxy_id}"))
        if breaker is None or record is None or breaker.state.value == record.state:
            return
        breaker.restore(BreakerState(record.state), record.opened_at)
        self.pool.set_breaker(proxy_id, breaker.state is BreakerState.OPEN)
        log.info("breaker of proxy %s is %s on record (another host)", proxy_id, record.state)

    def latencies_measured(self, latencies: dict[str, float]) -> None:
        """Health checks (maybe another host's) measured these latencies."""
        self._apply_changes()
        for proxy_id, latency_ms in latencies.items():
            if self.pool.get(proxy_id) is not None:
                self.pool.measured(proxy_id, latency_ms)

    def config_recorded(self) -> None:
        """The rotation config changed on record (maybe another host's): use it."""
        config = self._writer.load(RotationConfig, ROTATION_CONFIG_ID)
        if config is not None and (config.strategy, config.params) != self._configured:
            self._configure_stored(config)

    def breaker_state(self, proxy_id: str) -> str | None:
        """The breaker state of one proxy (None if unknown)."""
        self._apply_changes()
        breaker = self._breakers.get(proxy_id)
        return breaker.state.value if breaker else None
