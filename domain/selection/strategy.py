"""The strategy port and what a pick returns."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from domain.selection.context import SelectionContext
from domain.selection.pool import Candidate, CandidatePool, Change, NoProxyAvailableError


@dataclass(frozen=True)
class Selection:
    """A pick: the proxy, the strategy, why, and the request context (for RotationApplied)."""

    proxy_id: str
    strategy: str
    reason: str
    context: dict[str, str] = field(default_factory=dict)


class Strategy(ABC):
    """Picks one available proxy for a request. Strategies keep incremental indexes."""

    name: ClassVar[str]

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None) -> None:
        self.pool = pool
        self.rng = rng or random.Random()
        self.setup()
        pool.subscribe(self.on_change)
        self.load(list(pool.by_id.values()))

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Create the strategy's indexes (before the pool's candidates are replayed)."""

    def load(self, candidates: list[Candidate]) -> None:
        """Index the pool's existing candidates (strategies may bulk-build instead)."""
        for candidate in candidates:
            self.on_change(candidate, Change.ADDED)

    def on_change(self, candidate: Candidate, change: Change) -> None:  # noqa: B027
        """Keep indexes current (default: nothing to index)."""

    @abstractmethod
    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Return (proxy id, reason); raise ``NoProxyAvailableError`` when none fits."""

    def select(self, ctx: SelectionContext | None = None) -> Selection:
        """Pick a proxy and describe the decision."""
        ctx = ctx or SelectionContext()
        if not self.pool.available:
            raise NoProxyAvailableError("no proxy is available (all busy, broken or none added)")
        proxy_id, reason = self.pick(ctx)
        return Selection(proxy_id, self.name, reason, ctx.summary())
