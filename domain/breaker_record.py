"""``CircuitBreakerRecord``: the recorded state of one breaker (a proxy's, or later an
engine's), so that an open breaker stays open across a restart."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.breaker import BreakerState, Transition
from domain.ids import named_id


def breaker_id(target: str) -> UUID:
    """The breaker of ``target`` (e.g. ``proxy:<id>``)."""
    return named_id("breaker", target)


class CircuitBreakerRecord(Aggregate):
    """State transitions of one breaker."""

    @staticmethod
    def create_id(target: str) -> UUID:
        """One record per target."""
        return breaker_id(target)

    @event("CircuitBreakerCreated")
    def __init__(self, target: str) -> None:
        self.target = target
        self.state = BreakerState.CLOSED.value
        self.opened_at = 0.0

    def record(self, transition: Transition) -> None:
        """Record a transition decided by ``CircuitBreaker``."""
        handler = {BreakerState.OPEN: self._opened, BreakerState.HALF_OPEN: self._half_opened,
                   BreakerState.CLOSED: self._closed}[transition.new]
        handler(target=self.target, reason=transition.reason, at=transition.at)

    @event("CircuitOpened")
    def _opened(self, target: str, reason: str, at: float) -> None:
        self.state, self.opened_at = BreakerState.OPEN.value, at

    @event("CircuitHalfOpened")
    def _half_opened(self, target: str, reason: str, at: float) -> None:
        self.state = BreakerState.HALF_OPEN.value

    @event("CircuitClosed")
    def _closed(self, target: str, reason: str, at: float) -> None:
        self.state = BreakerState.CLOSED.value
