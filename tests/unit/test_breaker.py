"""Circuit breaker transitions under a controlled clock."""

from __future__ import annotations

from domain.breaker import BreakerPolicy, BreakerState, CircuitBreaker

POLICY = BreakerPolicy(consecutive_failures=3, failure_rate=0.5, min_requests=6,
                       window_seconds=10, cooldown_seconds=30, success_threshold=2)


def test_opens_after_consecutive_failures_and_refuses_until_cooldown() -> None:
    breaker = CircuitBreaker(POLICY)
    assert breaker.record(False, 0) is None
    assert breaker.record(False, 1) is None
    moved = breaker.record(False, 2)
    assert moved is not None and moved.new is BreakerState.OPEN
    assert "3 consecutive failures" in moved.reason
    assert breaker.allow(31.9) == (False, None)
    allowed, half = breaker.allow(32)
    assert allowed and half is not None and half.new is BreakerState.HALF_OPEN


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(POLICY)
    for t, ok in enumerate([False, False, True, False, False]):
        assert breaker.record(ok, t) is None
    assert breaker.state is BreakerState.CLOSED


def test_opens_on_failure_rate_over_the_window_only_with_enough_requests() -> None:
    breaker = CircuitBreaker(POLICY)
    outcomes = [True, False, True, False, True]  # 2/5 failing, under min_requests
    for t, ok in enumerate(outcomes):
        assert breaker.record(ok, t) is None
    moved = breaker.record(False, 5)  # 3/6 = 0.5 with 6 requests
    assert moved is not None and "failure rate 3/6" in moved.reason


def test_old_outcomes_leave_the_window() -> None:
    breaker = CircuitBreaker(POLICY)
    for t in range(2):
        breaker.record(False, t)
        breaker.record(True, t)
    for t in range(20, 24):  # the early failures are out of the 10 s window by now
        assert breaker.record(t % 2 == 0, t) is None
    assert breaker.state is BreakerState.CLOSED


def test_half_open_closes_after_successes_and_reopens_on_failure() -> None:
    breaker = CircuitBreaker(POLICY)
    for t in range(3):
        breaker.record(False, t)
    breaker.allow(40)
    assert breaker.record(True, 41) is None
    closed = breaker.record(True, 42)
    assert closed is not None and closed.new is BreakerState.CLOSED
    for t in range(50, 53):
        breaker.record(False, t)
    breaker.allow(90)
    reopened = breaker.record(False, 91)
    assert reopened is not None and reopened.new is BreakerState.OPEN
    assert breaker.opened_at == 91 and breaker.allow(100) == (False, None)


def test_restore_resumes_an_open_breaker() -> None:
    breaker = CircuitBreaker(POLICY)
    breaker.restore(BreakerState.OPEN, opened_at=100)
    assert breaker.allow(120) == (False, None)
    assert breaker.allow(130)[0]
