"""Circuit breaker decisions, pure and clock-driven, reusable for proxies and search engines.

``CircuitBreaker`` decides; it does not record. Each state change is returned as a
``Transition`` for the owner to persist as an event (CircuitOpened, CircuitHalfOpened,
CircuitClosed), so the state survives restarts through ``restore``.

closed --(N consecutive failures, or failure rate >= R over the window with >= M requests)--> open
open --(cool-down elapsed, on the next ``allow``)--> half_open
half_open --(S successes)--> closed;  half_open --(any failure)--> open
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class BreakerState(StrEnum):
    """Where a breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerPolicy(BaseModel):
    """Thresholds of one breaker; defaults suit a proxy checked every few seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consecutive_failures: int = Field(default=5, ge=1, le=1000)
    failure_rate: float = Field(default=0.5, gt=0.0, le=1.0)
    min_requests: int = Field(default=10, ge=1, le=100_000)
    window_seconds: float = Field(default=60.0, gt=0.0, le=86_400.0)
    cooldown_seconds: float = Field(default=30.0, gt=0.0, le=86_400.0)
    success_threshold: int = Field(default=2, ge=1, le=1000)


@dataclass(frozen=True)
class Transition:
    """A state change for the owner to record as an event."""

    old: BreakerState
    new: BreakerState
    reason: str
    at: float


class CircuitBreaker:
    """One breaker's counters and state; ``now`` is seconds on any monotonic-ish clock."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.state = BreakerState.CLOSED
        self.opened_at = 0.0
        self._consecutive = 0
        self._half_open_successes = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._window_failures = 0

    def restore(self, state: BreakerState, opened_at: float) -> None:
        """Resume from a recorded state (counters start fresh)."""
        self.state, self.opened_at = state, opened_at

    def allow(self, now: float) -> tuple[bool, Transition | None]:
        """May a request go through now? An open breaker past its cool-down goes half-open."""
        if self.state is BreakerState.OPEN:
            if now - self.opened_at < self.policy.cooldown_seconds:
                return False, None
            return True, self._move(BreakerState.HALF_OPEN, "cool-down elapsed", now)
        return True, None

    def record(self, ok: bool, now: float) -> Transition | None:
        """Count one outcome; return the transition it caused, if any."""
        self._slide(now)
        self._window.append((now, ok))
        self._window_failures += not ok
        if self.state is BreakerState.HALF_OPEN:
            return self._record_half_open(ok, now)
        if ok:
            self._consecutive = 0
            return None
        self._consecutive += 1
        if self.state is BreakerState.CLOSED:
            return self._maybe_open(now)
        return None

    def _record_half_open(self, ok: bool, now: float) -> Transition | None:
        if not ok:
            return self._open("failed while half-open", now)
        self._half_open_successes += 1
        if self._half_open_successes >= self.policy.success_threshold:
            return self._move(BreakerState.CLOSED,
                              f"{self._half_open_successes} successes while half-open", now)
        return None

    def _maybe_open(self, now: float) -> Transition | None:
        p = self.policy
        if self._consecutive >= p.consecutive_failures:
            return self._open(f"{self._consecutive} consecutive failures", now)
        total = len(self._window)
        if total >= p.min_requests and self._window_failures / total >= p.failure_rate:
            return self._open(
                f"failure rate {self._window_failures}/{total} over {p.window_seconds:g}s", now)
        return None

    def _open(self, reason: str, now: float) -> Transition:
        self.opened_at = now
        return self._move(BreakerState.OPEN, reason, now)

    def _move(self, new: BreakerState, reason: str, now: float) -> Transition:
        old, self.state = self.state, new
        self._consecutive = 0
        self._half_open_successes = 0
        if new is not BreakerState.OPEN:
            self._window.clear()
            self._window_failures = 0
        return Transition(old, new, reason, now)

    def _slide(self, now: float) -> None:
        horizon = now - self.policy.window_seconds
        while self._window and self._window[0][0] < horizon:
            _, ok = self._window.popleft()
            self._window_failures -= not ok
