"""Every strategy picks what it promises; busy and broken proxies are never handed out."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import ValidationError
from domain.selection import (
    Candidate,
    CandidatePool,
    CountryView,
    NoProxyAvailableError,
    SelectionContext,
)
from domain.selection._indexed import FenwickTree, IndexedSet
from domain.selection.basic import RandomChoice, RoundRobin, Weighted
from domain.selection.geographic import Geographic
from domain.selection.ranked import FailureAware, Fastest, LeastUsed
from domain.selection.registry import STRATEGIES, build_strategy
from domain.selection.scheduled import Failover, TimeBased
from domain.selection.sticky import StickySession
from domain.selection.strategy import Strategy

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def pool_of(*candidates: Candidate) -> CandidatePool:
    pool = CandidatePool()
    for c in candidates:
        pool.add(c)
    return pool


def ids(n: int) -> list[Candidate]:
    return [Candidate(id=f"p{i}") for i in range(n)]


def ctx(**kw: object) -> SelectionContext:
    return SelectionContext(**{"now": T0, **kw})  # type: ignore[arg-type]


def test_indexed_set_and_fenwick() -> None:
    s: IndexedSet[str] = IndexedSet()
    for x in "abcd":
        s.add(x)
    s.discard("b")
    s.discard("zz")
    assert sorted(s) == ["a", "c", "d"] and "b" not in s and len(s) == 3
    tree = FenwickTree(2)
    for i, w in enumerate([1.0, 0.0, 3.0, 2.0, 4.0]):
        tree.set(i, w)
    assert tree.total == 10
    assert [tree.find(x) for x in (0, 0.99, 1, 3.99, 4, 5.99, 6, 9.99)] == [0, 0, 2, 2, 3, 3, 4, 4]


def test_round_robin_cycles_in_order_and_skips_unavailable() -> None:
    pool = pool_of(*ids(4))
    rr = RoundRobin(pool)
    assert [rr.select(ctx()).proxy_id for _ in range(5)] == ["p0", "p1", "p2", "p3", "p0"]
    pool.set_breaker("p2", True)
    pool.remove("p3")
    pool.add(Candidate(id="p4"))
    assert [rr.select(ctx()).proxy_id for _ in range(4)] == ["p1", "p4", "p0", "p1"]


def test_busy_and_open_proxies_are_never_handed_out_by_any_strategy() -> None:
    for name, cls in STRATEGIES.items():
        pool = pool_of(Candidate(id="busy", max_concurrency=1), Candidate(id="broken"),
                       Candidate(id="ok", country="DE"))
        pool.acquire("busy")
        pool.set_breaker("broken", True)
        params = {"primary": "00000000-0000-0000-0000-000000000001"} if cls is Failover else {}
        strategy = build_strategy(name.value, params, pool)
        if cls is Failover:
            continue  # failover only ever hands out its configured ids (tested below)
        picks = {strategy.select(ctx(domain="example.com")).proxy_id for _ in range(30)}
        assert picks == {"ok"}, name
        pool.set_breaker("ok", True)
        with pytest.raises(NoProxyAvailableError):
            strategy.select(ctx(domain="example.com"))


def test_random_is_uniform_with_a_fixed_seed() -> None:
    pool = pool_of(*ids(4))
    strategy = RandomChoice(pool, random.Random(7))
    counts = Counter(strategy.select().proxy_id for _ in range(8000))
    assert set(counts) == {"p0", "p1", "p2", "p3"}
    assert all(1800 < n < 2200 for n in counts.values()), counts


def test_weighted_follows_weights_and_drops_unavailable() -> None:
    pool = pool_of(Candidate(id="a", weight=1), Candidate(id="b", weight=3),
                   Candidate(id="c", weight=6))
    strategy = Weighted(pool, random.Random(3))
    counts = Counter(strategy.select().proxy_id for _ in range(10000))
    assert 800 < counts["a"] < 1200 and 2700 < counts["b"] < 3300 and 5600 < counts["c"] < 6400
    pool.set_breaker("c", True)
    counts = Counter(strategy.select().proxy_id for _ in range(4000))
    assert counts["c"] == 0 and 800 < counts["a"] < 1200
    pool.remove("b")
    pool.add(Candidate(id="d", weight=1))  # reuses b's slot
    assert {strategy.select().proxy_id for _ in range(200)} == {"a", "d"}


def test_least_used_takes_the_fewest_uses() -> None:
    pool = pool_of(*ids(3))
    strategy = LeastUsed(pool)
    order = []
    for _ in range(6):
        pick = strategy.select().proxy_id
        order.append(pick)
        pool.acquire(pick)
        pool.release(pick, ok=True)
    assert order == ["p0", "p1", "p2", "p0", "p1", "p2"]
    for _ in range(3):
        pool.acquire("p0")
    assert strategy.select().proxy_id == "p1"


def test_fastest_tries_unknown_latency_first_then_ranks_it_last() -> None:
    pool = pool_of(Candidate(id="slow", latency_ms=300), Candidate(id="fast", latency_ms=40),
                   Candidate(id="new"))
    strategy = Fastest(pool)
    first = strategy.select()
    assert first.proxy_id == "new" and "unknown" in first.reason
    pool.acquire("new")
    pool.release("new", ok=False)  # tried, still no latency
    assert strategy.select().proxy_id == "fast"
    pool.set_breaker("fast", True)
    assert strategy.select().proxy_id == "slow"
    pool.set_breaker("slow", True)
    last = strategy.select()
    assert last.proxy_id == "new" and "ranked last" in last.reason
    pool.set_breaker("fast", False)
    pool.acquire("new")
    pool.release("new", ok=True, latency_ms=10)
    assert strategy.select().proxy_id == "new"


def test_failure_aware_prefers_recent_success() -> None:
    pool = pool_of(*ids(3))
    strategy = FailureAware(pool, min_success_rate=0.6)
    for ok_a, ok_b in [(True, False)] * 5:
        pool.release("p0", ok=ok_a)
        pool.release("p1", ok=ok_b)
    pool.release("p2", ok=False)
    assert strategy.select().proxy_id == "p0"
    for _ in range(10):  # p0 starts failing now: recency matters
        pool.release("p0", ok=False)
    pick = strategy.select()
    assert pick.proxy_id == "p2" and "below" not in pick.reason
    for _ in range(10):
        pool.release("p2", ok=False)
    assert "below 60%" in strategy.select().reason


def test_geographic_fallback_chain() -> None:
    pool = pool_of(Candidate(id="de1", country="DE"), Candidate(id="us1", country="US"),
                   Candidate(id="fr1", country="FR"), Candidate(id="none"))
    strategy = Geographic(pool, random.Random(1), countries=["US", "DE"], exclude=["FR"])
    assert strategy.select(ctx(country="DE")).proxy_id == "de1"
    assert strategy.select(ctx()).proxy_id == "us1"
    pool.set_breaker("us1", True)
    assert strategy.select(ctx()).proxy_id == "de1"
    pool.set_breaker("de1", True)
    fallback = strategy.select(ctx())
    assert fallback.proxy_id == "none" and "fallback" in fallback.reason
    assert strategy.select(ctx(country="FR")).proxy_id == "none"  # excluded even if asked
    strict = Geographic(pool, countries=["US"], fallback_any=False)
    with pytest.raises(NoProxyAvailableError, match="US"):
        strict.select(ctx())


def test_sticky_binds_expires_and_falls_back() -> None:
    pool = pool_of(*ids(20))
    strategy = StickySession(pool, ttl_seconds=60, wildcards=["*.example.com"])
    first = strategy.select(ctx(url="https://www.example.com/a"))
    assert "new binding for *.example.com" in first.reason
    same = strategy.select(ctx(domain="shop.example.com", now=T0 + timedelta(seconds=50)))
    assert same.proxy_id == first.proxy_id and "sticky" in same.reason
    # expiry counts from the last use (t=50), so t=100 is still within the ttl
    assert strategy.select(ctx(domain="example.com", now=T0 + timedelta(seconds=100))
                           ).proxy_id == first.proxy_id
    expired = strategy.select(ctx(domain="example.com", now=T0 + timedelta(seconds=200)))
    assert "expired" in expired.reason
    pool.set_breaker(expired.proxy_id, True)
    moved = strategy.select(ctx(domain="example.com", now=T0 + timedelta(seconds=201)))
    assert moved.proxy_id != expired.proxy_id and "fell back" in moved.reason
    assert strategy.expire(T0.timestamp() + 10_000) == [("*.example.com", moved.proxy_id)]
    with pytest.raises(NoProxyAvailableError, match="domain"):
        strategy.select(ctx())


def test_consistent_hashing_moves_few_domains_when_a_proxy_is_added() -> None:
    domains = [f"site{i}.test" for i in range(1000)]
    pool = pool_of(*ids(20))
    strategy = StickySession(pool)
    before = {d: strategy.select(ctx(domain=d)).proxy_id for d in domains}
    pool.add(Candidate(id="p-new"))
    fresh = StickySession(pool)
    after = {d: fresh.select(ctx(domain=d)).proxy_id for d in domains}
    moved = [d for d in domains if before[d] != after[d]]
    assert all(after[d] == "p-new" for d in moved)
    assert 10 < len(moved) < 150  # about 1/21 of the domains, not a reshuffle


def test_time_based_holds_then_rotates_with_jitter() -> None:
    pool = pool_of(*ids(3))
    strategy = TimeBased(pool, random.Random(5), interval_seconds=100, jitter_seconds=20)
    first = strategy.select(ctx())
    deadline = strategy.rotate_at - T0.timestamp()
    assert 80 <= deadline <= 120 and deadline != 100
    held = strategy.select(ctx(now=T0 + timedelta(seconds=deadline - 1)))
    assert held.proxy_id == first.proxy_id
    rotated = strategy.select(ctx(now=T0 + timedelta(seconds=deadline)))
    assert rotated.proxy_id != first.proxy_id and "interval elapsed" in rotated.reason
    pool.set_breaker(rotated.proxy_id, True)
    replaced = strategy.select(ctx(now=T0 + timedelta(seconds=deadline + 1)))
    assert replaced.proxy_id not in (rotated.proxy_id,) and "unavailable" in replaced.reason
    deadlines = set()
    for step in range(10):
        strategy.select(ctx(now=T0 + timedelta(days=step + 1)))
        deadlines.add(round(strategy.rotate_at % 1000, 3))
    assert len(deadlines) > 5  # jitter really varies


def test_failover_order() -> None:
    a, b, c = ("00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b",
               "00000000-0000-0000-0000-00000000000c")
    pool = pool_of(Candidate(id=a), Candidate(id=b), Candidate(id=c), Candidate(id="other"))
    strategy = build_strategy("failover", {"primary": a, "backups": [c, b]}, pool)
    assert strategy.select().proxy_id == a
    pool.set_breaker(a, True)
    pick = strategy.select()
    assert pick.proxy_id == c and "backup 1" in pick.reason
    pool.set_breaker(c, True)
    pool.set_breaker(b, True)
    with pytest.raises(NoProxyAvailableError):
        strategy.select()


def test_build_strategy_validates() -> None:
    with pytest.raises(ValidationError):
        build_strategy("teleport", {}, CandidatePool())
    with pytest.raises(ValidationError, match="ttl_seconds"):
        build_strategy("sticky_session", {"ttl_seconds": 0}, CandidatePool())
    with pytest.raises(ValidationError, match="fallback"):
        build_strategy("custom", {"fallback": "custom"}, CandidatePool())
    with pytest.raises(ValidationError, match=r"rules\.0: target of a proxy action"):
        build_strategy("custom", {"rules": [{"action": "use_proxy", "target": "x"}]},
                       CandidatePool())
    first, second = (build_strategy("random", {"seed": 9}, pool_of(*ids(50))) for _ in range(2))
    picks = [first.select().proxy_id for _ in range(20)]
    assert picks == [second.select().proxy_id for _ in range(20)]
    assert len(set(picks)) > 10


ID_A = "00000000-0000-0000-0000-0000000000aa"
ID_B = "00000000-0000-0000-0000-0000000000bb"


def custom_pool() -> CandidatePool:
    return pool_of(
        Candidate(id=ID_A, country="DE", latency_ms=80, tags=frozenset({"fast"})),
        Candidate(id=ID_B, country="US", latency_ms=900),
        Candidate(id="fr-1", country="FR", latency_ms=50),
        Candidate(id="de-2", country="DE", latency_ms=400),
    )


def test_custom_rules_priority_conditions_and_actions() -> None:
    rules = [
        {"priority": 1, "domain": "*.shop.example", "action": "use_proxy", "target": ID_A},
        {"priority": 2, "url_pattern": r"/checkout", "action": "use_country", "target": "DE",
         "max_latency_ms": 500},
        {"priority": 3, "hours": [0, 1, 2], "action": "exclude_country", "target": "US"},
        {"priority": 0, "domain": "blocked.example", "action": "exclude_proxy",
         "target": ID_A},
    ]
    pool = custom_pool()
    strategy = build_strategy("custom", {"rules": rules, "fallback": "round_robin"}, pool)
    pick = strategy.select(ctx(domain="www.shop.example"))
    assert pick.proxy_id == ID_A and "rule 1" in pick.reason
    pool.set_breaker(ID_A, True)  # the rule's proxy is down: later rules / fallback decide
    assert strategy.select(ctx(domain="www.shop.example")).reason.startswith("no rule decided")
    pool.set_breaker(ID_A, False)
    checkout = {strategy.select(ctx(url="https://x.test/checkout?a=1")).proxy_id
                for _ in range(20)}
    assert checkout == {ID_A, "de-2"}
    night = T0.replace(hour=1)
    picks = {strategy.select(SelectionContext(domain="x.test", now=night)).proxy_id
             for _ in range(12)}
    assert ID_B not in picks and picks == {ID_A, "fr-1", "de-2"}
    day = {strategy.select(SelectionContext(domain="x.test", now=T0)).proxy_id
           for _ in range(12)}
    assert ID_B in day


@pytest.mark.parametrize("pattern", ["((a+))+$", "(?:(?:a+))+$", "(a|a)+$"])
def test_a_catastrophic_url_pattern_cannot_freeze_a_pick(pattern: str) -> None:
    # The attack: a stored rule whose pattern backtracks exponentially on a URL the attacker
    # controls. With Python's re this pick ran for minutes holding the GIL; RE2 is linear.
    rules = [{"priority": 1, "url_pattern": pattern, "action": "use_proxy", "target": ID_B}]
    strategy = build_strategy("custom", {"rules": rules, "fallback": "round_robin"},
                              custom_pool())
    hostile = "https://x.test/" + "a" * 20_000 + "!"
    assert strategy.select(ctx(url=hostile)).reason.startswith("no rule decided")
    assert strategy.select(ctx(url="https://x.test/" + "a" * 64)).proxy_id == ID_B


def test_custom_exclusions_win_over_later_use_rules_and_filters_apply() -> None:
    rules = [
        {"priority": 0, "action": "exclude_proxy", "target": ID_A},
        {"priority": 1, "action": "use_country", "target": "DE", "tags": ["fast"]},
        {"priority": 2, "action": "use_country", "target": "DE", "max_latency_ms": 100},
        {"priority": 3, "action": "use_country", "target": "FR", "weekdays": [1]},
    ]
    strategy = build_strategy("custom", {"rules": rules}, custom_pool())
    # rule 2 wants tag 'fast' (only ID_A, excluded); rule 3 wants <100 ms in DE (only ID_A)
    pick = strategy.select(ctx())  # T0 is a Tuesday (weekday 1): rule 4 applies
    assert pick.proxy_id == "fr-1" and "rule 4" in pick.reason
    monday = T0 - timedelta(days=1)
    fallback = strategy.select(SelectionContext(now=monday))
    assert fallback.proxy_id != ID_A and "no rule decided" in fallback.reason


def test_custom_rules_never_hand_out_an_excluded_proxy() -> None:
    pool = pool_of(*ids(50))
    rules = [{"action": "exclude_country", "target": "DE"}]
    for c in list(pool.by_id.values())[:49]:
        c.country = "DE"
    pool2 = pool_of(*[Candidate(id=c.id, country=c.country) for c in pool.by_id.values()])
    strategy = build_strategy("custom", {"rules": rules, "fallback": "random"}, pool2)
    assert {strategy.select().proxy_id for _ in range(50)} == {"p49"}
    pool2.set_breaker("p49", True)
    with pytest.raises(NoProxyAvailableError, match="excluded"):
        strategy.select()


def test_updates_keep_usage_and_move_country_indexes() -> None:
    pool = pool_of(Candidate(id="a", country="DE"), Candidate(id="b", country="US"))
    rr, geo = RoundRobin(pool), Geographic(pool, countries=["US"], fallback_any=False)
    pool.acquire("a")
    pool.update("a", weight=5, country="US", tags=frozenset(), max_concurrency=10)
    assert pool.by_id["a"].uses == 1 and pool.by_id["a"].weight == 5
    assert [rr.select().proxy_id for _ in range(4)] == ["a", "b", "a", "b"]  # no duplicate
    pool.update("b", weight=1, country="FR", tags=frozenset(), max_concurrency=10)
    assert {geo.select().proxy_id for _ in range(10)} == {"a"}
    with pytest.raises(ValueError):
        pool.add(Candidate(id="a"))


def test_time_based_rotates_only_inside_windows() -> None:
    pool = pool_of(*ids(3))
    strategy = build_strategy("time_based", {"interval_seconds": 60,
                                             "windows": "22:00-02:00"}, pool)
    noon = T0  # 12:00 UTC: outside the window
    first = strategy.select(ctx(now=noon)).proxy_id
    held = strategy.select(ctx(now=noon + timedelta(minutes=5)))
    assert held.proxy_id == first and "outside" in held.reason
    late = noon.replace(hour=23)
    assert strategy.select(ctx(now=late)).proxy_id != first  # inside: rotates
    after_midnight = late + timedelta(hours=2, minutes=30)  # 01:30, still inside (wraps)
    assert "rotated" in strategy.select(ctx(now=after_midnight)).reason
    with pytest.raises(ValidationError):
        build_strategy("time_based", {"windows": "25:00-26:00"}, pool)


def test_geographic_region_preferences_come_after_countries() -> None:
    pool = pool_of(Candidate(id="de", country="DE", region="eu-west"),
                   Candidate(id="pl", country="PL", region="eu-east"),
                   Candidate(id="us", country="US", region="na"))
    strategy = Geographic(pool, countries=["DE"], regions=["eu-east"], fallback_any=False)
    assert strategy.select(ctx()).proxy_id == "de"
    pool.set_breaker("de", True)
    pick = strategy.select(ctx())
    assert pick.proxy_id == "pl" and "region eu-east" in pick.reason
    pool.update("pl", weight=1, country="PL", region="eu-central", tags=frozenset(),
                max_concurrency=10)
    with pytest.raises(NoProxyAvailableError):
        strategy.select(ctx())


def test_a_measured_latency_reranks_fastest() -> None:
    pool = pool_of(Candidate(id="a", latency_ms=50), Candidate(id="b", latency_ms=90))
    strategy = Fastest(pool)
    assert strategy.select().proxy_id == "a"
    pool.measured("b", 10)
    assert strategy.select().proxy_id == "b" and pool.by_id["b"].uses == 0


def test_a_country_view_holds_what_serves_the_country_as_the_pool_changes() -> None:
    """Every strategy over a CountryView picks only proxies of its country (declared, and
    not seen leaving from elsewhere), following additions, removals, country changes, exits
    seen, uses and breakers of the pool it follows, with no scan per pick."""
    for name, cls in STRATEGIES.items():
        if cls is Failover:
            continue  # only ever hands out its configured ids
        pool = pool_of(Candidate(id="de1", country="DE"), Candidate(id="de2", country="DE"),
                       Candidate(id="fr", country="FR"), Candidate(id="none"))
        view = CountryView(pool, "DE")
        strategy = build_strategy(name.value, {}, view)

        def picks(n: int, strategy: Strategy = strategy,
                  pool: CandidatePool = pool) -> set[str]:
            got = set()
            for i in range(n):  # as the rotation engine does: pick, use, release
                proxy_id = strategy.select(ctx(domain=f"site{i}.example")).proxy_id
                pool.acquire(proxy_id)
                pool.release(proxy_id, ok=True)
                got.add(proxy_id)
            return got

        assert picks(40) <= {"de1", "de2"} and set(view.available) == {"de1", "de2"}, name
        pool.set_exit("de2", "NL")  # a validation saw it leave from NL: it serves no DE pick
        pool.add(Candidate(id="de3", country="DE"))
        pool.update("fr", weight=1, country="DE", tags=frozenset(), max_concurrency=10)
        assert set(view.available) == {"de1", "de3", "fr"}
        assert picks(60) <= {"de1", "de3", "fr"}, name
        pool.acquire("de1")  # busy and broken proxies leave the view's available set too
        pool.update("de1", weight=1, country="DE", tags=frozenset(), max_concurrency=1)
        pool.set_breaker("de3", True)
        pool.remove("fr")
        assert set(view.available) == set() and set(view.by_id) == {"de1", "de3"}
        with pytest.raises(NoProxyAvailableError):
            strategy.select(ctx(domain="example.com"))
        pool.release("de1")
        assert picks(5) == {"de1"}, name


def test_a_country_view_refuses_additions_of_its_own() -> None:
    view = CountryView(pool_of(Candidate(id="a", country="DE")), "DE")
    with pytest.raises(TypeError):
        view.add(Candidate(id="b", country="DE"))
    assert list(view.by_id) == ["a"]
