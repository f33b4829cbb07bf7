"""Selections per second for each rotation strategy at 100 and at 100,000 proxies.

Each pick is a full cycle (select, acquire, release with an outcome and a latency) so that
strategies whose indexes follow usage and health are measured with their upkeep. The ratio
rate(100k)/rate(100) shows how close to constant the cost is (goal >= 0.5 for every one).
Usage: python -m scripts.bench.rotation [--picks 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid

from domain.rotation import StrategyName
from domain.selection import Candidate, CandidatePool, SelectionContext
from domain.selection.registry import STRATEGIES, build_strategy

COUNTRIES = ["US", "DE", "FR", "GB", "NL", "JP", "BR", "IN"]


def make_pool(size: int, rng: random.Random) -> CandidatePool:
    """``size`` proxies with varied weights, countries and latencies."""
    pool = CandidatePool()
    for _ in range(size):
        pool.add(Candidate(
            id=str(uuid.UUID(int=rng.getrandbits(128))), weight=rng.randint(1, 10),
            country=rng.choice(COUNTRIES), latency_ms=rng.uniform(20, 900),
            max_concurrency=10_000))
    return pool


def params_for(name: StrategyName, pool: CandidatePool) -> dict[str, object]:
    """Typical parameters for each strategy."""
    ids = list(pool.by_id)
    params: dict[StrategyName, dict[str, object]] = {
        StrategyName.GEOGRAPHIC: {"countries": ["DE", "US"], "exclude": ["BR"]},
        StrategyName.STICKY_SESSION: {"ttl_seconds": 600, "wildcards": ["*.example.com"]},
        StrategyName.TIME_BASED: {"interval_seconds": 1, "jitter_seconds": 0},
        StrategyName.FAILOVER: {"primary": ids[0], "backups": ids[1:4]},
        StrategyName.CUSTOM: {"fallback": "round_robin", "rules": [
            {"priority": 1, "domain": "*.example.com", "action": "use_country", "target": "DE"},
            {"priority": 2, "url_pattern": "/checkout", "action": "use_proxy", "target": ids[5]},
            {"priority": 3, "action": "exclude_country", "target": "BR"},
        ]},
        StrategyName.RANDOM: {"seed": 1},
        StrategyName.WEIGHTED: {"seed": 1},
    }
    return params.get(name, {})


def rate(name: StrategyName, size: int, picks: int) -> float:
    """Picks per second for one strategy over a pool of ``size``."""
    rng = random.Random(42)
    pool = make_pool(size, rng)
    strategy = build_strategy(name.value, params_for(name, pool), pool)
    domains = [f"site{i}.test" for i in range(1000)]
    contexts = [SelectionContext(domain=domains[i % 1000], country=COUNTRIES[i % 8])
                for i in range(1000)]
    outcomes = [(rng.random() > 0.1, rng.uniform(20, 900)) for _ in range(1000)]
    start = time.perf_counter()
    for i in range(picks):
        pick = strategy.select(contexts[i % 1000]).proxy_id
        pool.acquire(pick)
        ok, latency = outcomes[i % 1000]
        pool.release(pick, ok=ok, latency_ms=latency)
    return picks / (time.perf_counter() - start)


def main() -> None:
    """Measure every strategy at both sizes and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picks", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    for name in STRATEGIES:
        small, large = rate(name, 100, args.picks), rate(name, 100_000, args.picks)
        results[name.value] = {"per_s_100": round(small), "per_s_100k": round(large),
                               "ratio": round(large / small, 2)}
        if not args.json:
            print(f"{name.value:15s} {small:10.0f}/s @100  {large:10.0f}/s @100k  "
                  f"ratio {large / small:5.2f}  (goal >= 0.5)", flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
