"""Geographic selection with a documented fallback chain.

Fallback chain, first match wins:
1. the request's wanted country (``SelectionContext.country``), unless excluded;
2. the configured ``countries`` in order, skipping excluded ones;
2b. the configured ``regions`` in order (proxies whose country is not excluded);
3. with ``fallback_any``: any available proxy whose country is not excluded
   (proxies with no known country count as not excluded);
4. otherwise ``NoProxyAvailableError`` naming what was tried.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import ClassVar

from domain.selection.context import SelectionContext
from domain.selection.pool import (
    Candidate,
    CandidatePool,
    Change,
    CountryIndex,
    NoProxyAvailableError,
)
from domain.selection.strategy import Strategy

_RANDOM_TRIES = 16


class Geographic(Strategy):
    """Pick by exit country: preferred countries first, excluded ones never."""

    name: ClassVar[str] = "geographic"

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None,
                 countries: Sequence[str] = (), exclude: Sequence[str] = (),
                 fallback_any: bool = True, regions: Sequence[str] = ()) -> None:
        self.regions = list(regions)
        self._by_region = CountryIndex(by="region")
        self.countries = [c.upper() for c in countries]
        self.exclude = {c.upper() for c in exclude}
        self.fallback_any = fallback_any
        self._by_country = CountryIndex()
        super().__init__(pool, rng)

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Keep one set of available proxies per country ('' for unknown)."""
        self._by_country.follow(candidate, change)
        self._by_region.follow(candidate, change)

    def _from(self, country: str) -> str | None:
        bucket = self._by_country.get(country)
        return bucket.choice(self.rng) if bucket else None

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Walk the fallback chain."""
        tried: list[str] = []
        wanted = [ctx.country] if ctx.country else []
        for step, country in enumerate([*wanted, *self.countries]):
            if country in self.exclude or country in tried:
                continue
            tried.append(country)
            found = self._from(country)
            if found:
                origin = "requested" if wanted and step == 0 else "preferred"
                return found, f"{origin} country {country}"
        for region in self.regions:
            bucket = self._by_region.get(region)
            for _ in range(_RANDOM_TRIES if bucket else 0):
                assert bucket is not None
                proxy_id = bucket.choice(self.rng)
                if (self.pool.by_id[proxy_id].country or "") not in self.exclude:
                    return proxy_id, f"preferred region {region}"
        if self.fallback_any:
            found = self._any_allowed()
            if found:
                country = self.pool.by_id[found].country or "unknown"
                return found, f"fallback: no proxy in {', '.join(tried) or 'any preference'}; " \
                              f"using {country}"
        raise NoProxyAvailableError(
            f"no available proxy in {', '.join(tried) or 'the preferred countries'}"
            + ("" if self.fallback_any else " and fallback_any is off"))

    def _any_allowed(self) -> str | None:
        available = self.pool.available
        for _ in range(_RANDOM_TRIES if self.exclude else 1):
            proxy_id = available.choice(self.rng)
            if (self.pool.by_id[proxy_id].country or "") not in self.exclude:
                return proxy_id
        allowed = [b for c, b in self._by_country.buckets.items() if c not in self.exclude and b]
        return allowed[0].choice(self.rng) if allowed else None
