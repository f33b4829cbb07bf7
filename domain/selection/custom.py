"""Custom rules: priority-ordered rules over the request and the proxies, then a fallback.

Rules whose request conditions hold are walked in priority order. ``exclude_*`` rules add
to the excluded proxies/countries; the first ``use_*`` rule with an available, allowed proxy
that passes its filters decides. Otherwise the fallback strategy picks, and picks that the
exclusions forbid are re-drawn (bounded) before a last full scan.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from domain.patterns import UserPattern
from domain.rotation import Rule
from domain.selection.context import SelectionContext
from domain.selection.pool import (
    Candidate,
    CandidatePool,
    Change,
    CountryIndex,
    NoProxyAvailableError,
)
from domain.selection.strategy import Strategy

REDRAWS = 32


def _domain_matches(glob: str, domain: str | None) -> bool:
    if domain is None:
        return False
    if glob.startswith("*."):
        base = glob[2:]
        return domain == base or domain.endswith("." + base)
    return domain == glob


class _Compiled:
    """A rule with its regex compiled once."""

    def __init__(self, index: int, rule: Rule) -> None:
        self.index = index
        self.rule = rule
        self.url_re = UserPattern(rule.url_pattern) if rule.url_pattern else None

    def applies(self, ctx: SelectionContext, domain: str | None) -> bool:
        r, now = self.rule, ctx.now
        if r.domain and not _domain_matches(r.domain, domain):
            return False
        if self.url_re and not (ctx.url and self.url_re.search(ctx.url)):
            return False
        if r.path_prefix and not (ctx.url and urlsplit(ctx.url).path.startswith(r.path_prefix)):
            return False
        return _time_ok(r, now)

    def admits(self, c: Candidate) -> bool:
        r = self.rule
        if r.countries and c.country not in r.countries:
            return False
        if r.max_latency_ms is not None and (c.latency_ms is None
                                            or c.latency_ms > r.max_latency_ms):
            return False
        if r.min_success_rate is not None and c.success_score < r.min_success_rate:
            return False
        return set(r.tags) <= c.tags

    def label(self) -> str:
        return f"rule {self.index + 1} ({self.rule.action} {self.rule.target})"


def _time_ok(rule: Rule, now: datetime) -> bool:
    if rule.hours and now.hour not in rule.hours:
        return False
    return not (rule.weekdays and now.weekday() not in rule.weekdays)


class CustomRules(Strategy):
    """Rules first, then the fallback strategy over what the rules leave allowed."""

    name: ClassVar[str] = "custom"

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None,
                 rules: Sequence[dict[str, Any] | Rule] = (), fallback: str = "round_robin"
                 ) -> None:
        from domain.selection.registry import build_strategy

        parsed = [r if isinstance(r, Rule) else Rule.model_validate(r) for r in rules]
        order = sorted(range(len(parsed)), key=lambda i: (parsed[i].priority, i))
        self.rules = [_Compiled(i, parsed[i]) for i in order]
        self._by_country = CountryIndex()
        super().__init__(pool, rng)
        self.fallback = build_strategy(fallback, {}, pool)

    def on_change(self, candidate: Candidate, change: Change) -> None:
        """Per-country sets of available proxies, for ``use_country``."""
        self._by_country.follow(candidate, change)

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Walk the rules, then fall back."""
        domain = ctx.target_domain()
        excluded_ids: set[str] = set()
        excluded_countries: set[str] = set()
        for rule in (r for r in self.rules if r.applies(ctx, domain)):
            action, target = rule.rule.action, rule.rule.target
            if action == "exclude_proxy":
                excluded_ids.add(target)
            elif action == "exclude_country":
                excluded_countries.add(target)
            else:
                found = self._use(rule, excluded_ids, excluded_countries)
                if found is not None:
                    return found, rule.label()

        def allowed(c: Candidate) -> bool:
            return c.id not in excluded_ids and (c.country or "") not in excluded_countries

        for _ in range(REDRAWS if (excluded_ids or excluded_countries) else 1):
            proxy_id, reason = self.fallback.pick(ctx)
            if allowed(self.pool.by_id[proxy_id]):
                return proxy_id, f"no rule decided; {self.fallback.name}: {reason}"
        for proxy_id in self.pool.available:
            if allowed(self.pool.by_id[proxy_id]):
                return proxy_id, "no rule decided; first allowed proxy"
        raise NoProxyAvailableError("every available proxy is excluded by the rules")

    def _use(self, rule: _Compiled, excluded_ids: set[str],
             excluded_countries: set[str]) -> str | None:
        target = rule.rule.target
        if rule.rule.action == "use_proxy":
            candidate = self.pool.get(target)
            ok = (candidate is not None and target in self.pool.available
                  and target not in excluded_ids
                  and (candidate.country or "") not in excluded_countries
                  and rule.admits(candidate))
            return target if ok else None
        if target in excluded_countries:
            return None
        bucket = self._by_country.get(target)
        if not bucket:
            return None
        for _ in range(REDRAWS):
            proxy_id = bucket.choice(self.rng)
            if proxy_id not in excluded_ids and rule.admits(self.pool.by_id[proxy_id]):
                return proxy_id
        return next((p for p in bucket if p not in excluded_ids
                     and rule.admits(self.pool.by_id[p])), None)
