"""Sliding-window rate limits with a controllable clock."""

from __future__ import annotations

import pytest

from domain.errors import RateLimitError
from service.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_per_channel_and_client_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter({"proxy:add": 2}, window=60, clock=clock)
    limiter.check("proxy:add", "a")
    clock.now += 10
    limiter.check("proxy:add", "a")
    limiter.check("proxy:add", "b")  # other client has its own window
    limiter.check("proxy:list", "a")  # unlimited channel
    with pytest.raises(RateLimitError) as info:
        limiter.check("proxy:add", "a")
    assert info.value.retry_after == pytest.approx(50)
    clock.now += 50
    limiter.check("proxy:add", "a")  # the first hit left the window
