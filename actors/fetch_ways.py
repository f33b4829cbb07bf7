"""How a search's pages are fetched: in a browser tab or over HTTP (the HTTP tier).

An engine definition says ``fetch = "browser" | "http" | "auto"``; ``VIPB_SEARCH_FETCH=browser``
puts every search in a tab whatever the definitions say. ``auto`` fetches over HTTP until
HTTP meets a captcha, a consent page or a layout the definition does not know behind a
proxy; from then on that engine and proxy get a tab for ``REMEMBER`` seconds. Engines judge
a client by its address and by the client itself: an address that met a challenge over HTTP
is likely to meet more, and a tab is what answers them. The memory is the host's own (a
restart forgets it: the first HTTP page that meets a challenge teaches it again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

Way = Literal["browser", "http", "auto"]

REMEMBER = 6 * 3600.0


class FetchWays:
    """Which way each search goes, and the engines and proxies ``auto`` sends to tabs."""

    def __init__(self, override: str = "engine", clock: Callable[[], float] = time.monotonic,
                 remember: float = REMEMBER) -> None:
        """``override``: ``engine`` (each definition decides) or ``browser`` (tabs only)."""
        self._override = override
        self._clock = clock
        self._remember = remember
        self._lock = threading.Lock()
        self._tabs_until: dict[tuple[str, str], float] = {}

    def way(self, engine: str, declared: Way, proxy_id: str | None) -> Literal["browser", "http"]:
        """How a search on ``engine`` (whose definition says ``declared``) behind
        ``proxy_id`` (None: direct) fetches its pages now; ``auto`` gives ``http`` unless
        that engine and proxy were sent to tabs (``remember``)."""
        if self._override == "browser" or declared == "browser":
            return "browser"
        if declared == "http":
            return "http"
        key = (engine, proxy_id or "direct")
        with self._lock:
            until = self._tabs_until.get(key)
            if until is not None and until <= self._clock():
                del self._tabs_until[key]
                until = None
        return "http" if until is None else "browser"

    def remember(self, engine: str, proxy_id: str | None) -> None:
        """HTTP met a challenge or an unknown page on ``engine`` behind ``proxy_id``: tabs
        for them from now on (for ``REMEMBER`` seconds)."""
        with self._lock:
            self._tabs_until[(engine, proxy_id or "direct")] = self._clock() + self._remember
