"""``HealthCheckActor``: runs proxy checks on its own thread so the pool stays responsive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from actors.base import VipbActor
from adapters.proxycheck import ProxyChecker, ProxyEndpoint
from domain.health import HealthReport

Progress = Callable[[int, int], None]
OnResult = Callable[[str, HealthReport], None]


class HealthCheckActor(VipbActor):
    """Check many proxies concurrently (bounded) in one asyncio run per request."""

    def check(
        self,
        endpoints: Sequence[ProxyEndpoint],
        check_url: str,
        samples: int,
        timeout: float,
        concurrency: int,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> dict[str, HealthReport]:
        """Reports by proxy id; ``progress(done, total)`` and ``on_result(id, report)`` are
        called (on this actor's thread) as checks finish."""
        checker = ProxyChecker(check_url, samples=samples, timeout=timeout,
                               concurrency=concurrency)
        return asyncio.run(checker.check_many(endpoints, progress, on_result))
