"""Build a strategy from its validated name and parameters."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

from domain.errors import ValidationError
from domain.rotation import StrategyName, validate_params
from domain.selection.basic import RandomChoice, RoundRobin, Weighted
from domain.selection.custom import CustomRules
from domain.selection.geographic import Geographic
from domain.selection.pool import CandidatePool
from domain.selection.ranked import FailureAware, Fastest, LeastUsed
from domain.selection.scheduled import Failover, TimeBased
from domain.selection.sticky import StickySession
from domain.selection.strategy import Strategy

STRATEGIES: dict[StrategyName, type[Strategy]] = {
    StrategyName.ROUND_ROBIN: RoundRobin,
    StrategyName.RANDOM: RandomChoice,
    StrategyName.WEIGHTED: Weighted,
    StrategyName.LEAST_USED: LeastUsed,
    StrategyName.FASTEST: Fastest,
    StrategyName.FAILURE_AWARE: FailureAware,
    StrategyName.GEOGRAPHIC: Geographic,
    StrategyName.STICKY_SESSION: StickySession,
    StrategyName.TIME_BASED: TimeBased,
    StrategyName.FAILOVER: Failover,
    StrategyName.CUSTOM: CustomRules,
}


def build_strategy(name: str, params: dict[str, Any], pool: CandidatePool) -> Strategy:
    """The strategy ``name`` over ``pool``, configured by ``params`` (validated here too)."""
    try:
        strategy = StrategyName(name)
        clean = validate_params(strategy, params)
    except ValueError as exc:
        raise ValidationError(str(exc), field="strategy") from None
    cls = STRATEGIES.get(strategy)
    if cls is None:
        raise ValidationError(f"{name} selection is not available yet", field="strategy")
    seed = clean.pop("seed", None)
    rng = random.Random(seed)
    if strategy is StrategyName.FAILOVER:
        clean["primary"] = str(UUID(clean["primary"]))
        clean["backups"] = [str(UUID(b)) for b in clean["backups"]]
    if strategy is StrategyName.CUSTOM:
        for rule in clean["rules"]:
            if rule["action"].endswith("proxy"):
                rule["target"] = str(UUID(rule["target"]))
    return cls(pool, rng, **clean)
