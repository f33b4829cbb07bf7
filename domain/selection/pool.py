"""The candidate pool: what selection knows about each proxy, and which ones may be used.

A proxy is *available* when it is not at its concurrency limit, its breaker is not open and
it is not held aside for the pick at hand.
Strategies never see an unavailable proxy: they subscribe to ``on_change`` and keep their
own indexes current instead of filtering on every pick.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from domain.errors import ProxyError
from domain.selection._indexed import IndexedSet


class NoProxyAvailableError(ProxyError):
    """No proxy fits the request right now (all busy, broken, excluded or none at all)."""

    code = "no_proxy_available"


class NoProxyInCountryError(NoProxyAvailableError):
    """No proxy serves the search's country (``permanent``: none is declared there, or
    each one's exit was seen elsewhere; otherwise they are busy or broken for now)."""

    code = "no_proxy_in_country"

    def __init__(self, message: str, country: str, permanent: bool) -> None:
        super().__init__(message)
        self.country = country
        self.permanent = permanent


class Change(Enum):
    """What happened to a candidate, for subscribers."""

    ADDED = "added"
    REMOVED = "removed"
    AVAILABILITY = "availability"
    METRICS = "metrics"


@dataclass(eq=False)
class Candidate:
    """One proxy as selection sees it. ``latency_ms`` None means never measured."""

    id: str
    weight: int = 1
    country: str | None = None
    region: str | None = None
    tags: frozenset[str] = frozenset()
    max_concurrency: int = 10
    latency_ms: float | None = None
    uses: int = 0
    in_flight: int = 0
    breaker_open: bool = False
    success_score: float = 1.0  # exponentially weighted success rate, recent outcomes count more
    outcomes: int = 0
    seq: int = field(default=0)
    held: bool = False  # set aside for one pick (``CandidatePool.holding``)
    exit_country: str | None = None  # what a validation saw (None: never seen)

    def serves(self, country: str) -> bool:
        """May a search for ``country`` go through this proxy? Its declared country is
        that country, and so is its exit wherever a validation saw it."""
        return self.country == country and self.exit_country in (None, country)

    @property
    def available(self) -> bool:
        """May this proxy be handed out now?"""
        return not self.breaker_open and not self.held and self.in_flight < self.max_concurrency


Listener = Callable[[Candidate, Change], None]
SUCCESS_DECAY = 0.9  # weight of the old score per new outcome: ~10 recent outcomes dominate


class CountryIndex:
    """Available proxies per exit country ('' for unknown), following pool changes.

    ``by="region"`` groups by the proxy's region instead.
    """

    def __init__(self, by: str = "country") -> None:
        self._by = by
        self.buckets: dict[str, IndexedSet[str]] = {}
        self._country_of: dict[str, str] = {}  # the bucket each available id sits in

    def follow(self, candidate: Candidate, change: Change) -> None:
        """Move ``candidate`` to the bucket it belongs in now (or out of all of them)."""
        previous = self._country_of.pop(candidate.id, None)
        if previous is not None:
            self.buckets[previous].discard(candidate.id)
        if change is not Change.REMOVED and candidate.available:
            country = getattr(candidate, self._by) or ""
            self.buckets.setdefault(country, IndexedSet()).add(candidate.id)
            self._country_of[candidate.id] = country

    def get(self, country: str) -> IndexedSet[str] | None:
        """The available proxies of ``country``, if any were ever seen."""
        return self.buckets.get(country)


class CandidatePool:
    """All candidates by id, in insertion order, with the set of available ones."""

    def __init__(self) -> None:
        self.by_id: dict[str, Candidate] = {}
        self.available: IndexedSet[str] = IndexedSet()
        self._listeners: list[Listener] = []
        self._seq = 0

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(candidate, change)`` after every change."""
        self._listeners.append(listener)

    def _emit(self, candidate: Candidate, change: Change) -> None:
        for listener in self._listeners:
            listener(candidate, change)

    def add(self, candidate: Candidate) -> None:
        """Add (or replace) a candidate."""
        if candidate.id in self.by_id:
            raise ValueError(f"candidate {candidate.id} is already in the pool; use update()")
        self._seq += 1
        candidate.seq = self._seq
        self.by_id[candidate.id] = candidate
        if candidate.available:
            self.available.add(candidate.id)
        self._emit(candidate, Change.ADDED)

    def update(self, proxy_id: str, *, weight: int, country: str | None,
               tags: frozenset[str], max_concurrency: int,
               latency_ms: float | None = None, region: str | None = None) -> None:
        """Change a candidate's configuration in place (usage and health are kept)."""
        candidate = self.by_id[proxy_id]
        was = candidate.available
        candidate.weight, candidate.country, candidate.tags = weight, country, tags
        candidate.region = region
        candidate.max_concurrency = max_concurrency
        if latency_ms is not None:
            candidate.latency_ms = latency_ms
        self._refresh(candidate, was)
        self._emit(candidate, Change.METRICS)

    def measured(self, proxy_id: str, latency_ms: float) -> None:
        """A health check measured the proxy's latency."""
        candidate = self.by_id[proxy_id]
        candidate.latency_ms = latency_ms
        self._emit(candidate, Change.METRICS)

    def remove(self, proxy_id: str) -> None:
        """Forget a candidate (removed from the pool)."""
        candidate = self.by_id.pop(proxy_id, None)
        if candidate is not None:
            self.available.discard(proxy_id)
            self._emit(candidate, Change.REMOVED)

    def get(self, proxy_id: str) -> Candidate | None:
        """The candidate, or None."""
        return self.by_id.get(proxy_id)

    def _refresh(self, candidate: Candidate, was_available: bool) -> None:
        if candidate.available != was_available:
            if candidate.available:
                self.available.add(candidate.id)
            else:
                self.available.discard(candidate.id)
            self._emit(candidate, Change.AVAILABILITY)

    def acquire(self, proxy_id: str) -> Candidate:
        """Count a use starting (the pick was made)."""
        candidate = self.by_id[proxy_id]
        was = candidate.available
        candidate.uses += 1
        candidate.in_flight += 1
        self._refresh(candidate, was)
        self._emit(candidate, Change.METRICS)
        return candidate

    def release(self, proxy_id: str, ok: bool | None = None,
                latency_ms: float | None = None) -> None:
        """A use ended; record its outcome and latency when known."""
        candidate = self.by_id.get(proxy_id)
        if candidate is None:
            return
        was = candidate.available
        candidate.in_flight = max(0, candidate.in_flight - 1)
        if ok is not None:
            candidate.outcomes += 1
            candidate.success_score = (SUCCESS_DECAY * candidate.success_score
                                       + (1 - SUCCESS_DECAY) * (1.0 if ok else 0.0))
        if latency_ms is not None:
            candidate.latency_ms = latency_ms
        self._refresh(candidate, was)
        self._emit(candidate, Change.METRICS)

    @contextlib.contextmanager
    def holding(self, proxy_ids: Iterable[str]) -> Iterator[None]:
        """Set these proxies aside while the block runs (a pick that must go elsewhere,
        such as a second opinion through another proxy); strategies see them unavailable."""
        held = [c for pid in proxy_ids if (c := self.by_id.get(pid)) is not None and not c.held]
        for candidate in held:
            was = candidate.available
            candidate.held = True
            self._refresh(candidate, was)
        try:
            yield
        finally:
            for candidate in held:
                was = candidate.available
                candidate.held = False
                self._refresh(candidate, was)

    def set_exit(self, proxy_id: str, country: str) -> None:
        """A validation saw the proxy leave from ``country``."""
        candidate = self.by_id[proxy_id]
        if candidate.exit_country != country:
            candidate.exit_country = country
            self._emit(candidate, Change.METRICS)

    def set_breaker(self, proxy_id: str, is_open: bool) -> None:
        """The proxy's breaker opened or closed/half-opened."""
        candidate = self.by_id[proxy_id]
        was = candidate.available
        candidate.breaker_open = is_open
        self._refresh(candidate, was)

    def __len__(self) -> int:
        return len(self.by_id)


class CountryView(CandidatePool):
    """The candidates of a pool that serve one country (``Candidate.serves``), kept current
    from the pool's changes: a strategy over it picks only among them, with its indexes as
    incremental as over the whole pool (no scan per pick).

    It shares the pool's candidates and never changes them: uses, releases, breakers and
    holds go through the pool, and arrive here as its changes."""

    def __init__(self, source: CandidatePool, country: str) -> None:
        super().__init__()
        self.country = country
        for candidate in source.by_id.values():
            if candidate.serves(country):
                self.by_id[candidate.id] = candidate
                if candidate.available:
                    self.available.add(candidate.id)
        source.subscribe(self._follow)

    def _follow(self, candidate: Candidate, change: Change) -> None:
        known = candidate.id in self.by_id
        if change is Change.REMOVED or not candidate.serves(self.country):
            if known:
                del self.by_id[candidate.id]
                self.available.discard(candidate.id)
                self._emit(candidate, Change.REMOVED)
            return
        if not known:
            self.by_id[candidate.id] = candidate
            if candidate.available:
                self.available.add(candidate.id)
            self._emit(candidate, Change.ADDED)
            return
        if candidate.available and candidate.id not in self.available:
            self.available.add(candidate.id)
        elif not candidate.available:
            self.available.discard(candidate.id)
        self._emit(candidate, change)

    def add(self, candidate: Candidate) -> None:
        """Candidates come from the pool it follows."""
        raise TypeError("a CountryView follows its pool; add candidates there")
