"""Time-based rotation and failover."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import ClassVar

from domain.selection.basic import RoundRobin
from domain.selection.context import SelectionContext
from domain.selection.pool import CandidatePool, NoProxyAvailableError
from domain.selection.strategy import Strategy


def _minutes(window: str) -> tuple[int, int]:
    """``"22:30-02:00"`` -> (1350, 120): minutes of the day, UTC."""
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in window.split("-"))
    return start, end


class TimeBased(RoundRobin):
    """Keep one proxy for ``interval`` seconds (give or take a uniform ``jitter``), then
    move to the next in turn; an unavailable current proxy is replaced at once."""

    name: ClassVar[str] = "time_based"

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None,
                 interval_seconds: float = 600, jitter_seconds: float = 0,
                 windows: Sequence[str] = ()) -> None:
        self.interval = interval_seconds
        self.jitter = jitter_seconds
        self.windows = [_minutes(w) for w in windows]
        self.current: str | None = None
        self.rotate_at = 0.0
        super().__init__(pool, rng)

    def _in_window(self, minute: int) -> bool:
        if not self.windows:
            return True
        return any(start <= minute < end if start <= end else minute >= start or minute < end
                   for start, end in self.windows)

    def _next_deadline(self, now: float) -> float:
        jitter = self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return now + max(1.0, self.interval + jitter)

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """The current proxy until its time is up."""
        now = ctx.now.timestamp()
        if self.current is not None and self.current in self.pool.available:
            if now < self.rotate_at:
                return self.current, f"holding until {self.rotate_at - now:.0f}s from now"
            if not self._in_window(ctx.now.hour * 60 + ctx.now.minute):
                return self.current, "holding: outside the rotation windows"
        why = ("first pick" if self.current is None
               else "interval elapsed" if now >= self.rotate_at
               else "current proxy unavailable")
        self.current, _ = super().pick(ctx)
        self.rotate_at = self._next_deadline(now)
        return self.current, f"rotated ({why})"


class Failover(Strategy):
    """The primary proxy while it is available, else the first available backup in order."""

    name: ClassVar[str] = "failover"

    def __init__(self, pool: CandidatePool, rng: random.Random | None = None,
                 primary: str = "", backups: Sequence[str] = ()) -> None:
        self.order = [primary, *backups]
        super().__init__(pool, rng)

    def pick(self, ctx: SelectionContext) -> tuple[str, str]:
        """Walk primary, then backups."""
        for rank, proxy_id in enumerate(self.order):
            if proxy_id in self.pool.available:
                return proxy_id, "primary" if rank == 0 else f"backup {rank} (primary down)"
        raise NoProxyAvailableError("neither the primary nor any backup is available")
