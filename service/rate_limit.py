"""Sliding-window rate limits per channel and client (each command model declares its limit per
60 s; ``domain.registry`` collects them)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from domain.errors import RateLimitError
from domain.registry import rate_limits

WINDOW_SECONDS = 60.0

class RateLimiter:
    """Allow at most ``limits[channel]`` calls per window for each client; others unlimited."""

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = rate_limits() if limits is None else limits
        self._window = window
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, channel: str, client: str = "local") -> None:
        """Count one call or raise ``RateLimitError`` with the seconds until a slot frees."""
        limit = self._limits.get(channel)
        if limit is None:
            return
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault((channel, client), deque())
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= limit:
                raise RateLimitError(channel, self._window - (now - hits[0]))
            hits.append(now)
