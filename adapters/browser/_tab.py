"""One tab on the browser loop: a browser context with its own proxy and privacy profile."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from domain.errors import BrowserError
from domain.fingerprint import EngineFingerprint

from ._blocker import TrackerBlocker
from ._engine import BrowserEngine
from ._guard import guard_script
from ._relay import SocksRelay
from ._workers import WorkerGuard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProxyRoute:
    """Where a tab's traffic goes; credentials stay in memory only."""

    protocol: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show credentials
        return f"ProxyRoute({self.protocol}://{self.host}:{self.port})"

    @property
    def needs_relay(self) -> bool:
        """Chromium cannot authenticate to SOCKS proxies."""
        return self.protocol.startswith("socks") and bool(self.username)


@dataclass(frozen=True)
class TabSetup:
    """Everything a context is created with."""

    fingerprint: EngineFingerprint
    locale: str
    timezone: str
    languages: tuple[str, ...]
    webrtc: str = "proxied"  # or "block": no RTCPeerConnection at all
    proxy: ProxyRoute | None = None
    blocker: TrackerBlocker | None = None


@dataclass(frozen=True)
class NavigationResult:
    """What a navigation led to."""

    url: str
    status: int | None
    title: str
    latency_ms: float


@dataclass
class TrackerCounts:
    """Requests blocked and allowed since the last summary."""

    blocked: int = 0
    allowed: int = 0
    domains: Counter[str] = field(default_factory=Counter)

    def take(self) -> TrackerCounts:
        """Return the counts so far and start again from zero."""
        taken = TrackerCounts(self.blocked, self.allowed, self.domains)
        self.blocked, self.allowed, self.domains = 0, 0, Counter()
        return taken


def _user_agent_metadata(fp: EngineFingerprint) -> dict[str, Any]:
    v = fp.values
    return {
        "brands": [{"brand": b, "version": ver} for b, ver in fp.brands],
        "fullVersionList": [{"brand": b, "version": ver} for b, ver in fp.full_version_list],
        "fullVersion": fp.full_version,
        "platform": v.ua_platform,
        "platformVersion": v.ua_platform_version,
        "architecture": v.architecture,
        "bitness": v.bitness,
        "model": "",
        "mobile": False,
        "wow64": False,
    }


class BrowserTab:
    """A live context + page. Every method is a coroutine for the engine's loop."""

    def __init__(self, engine: BrowserEngine, setup: TabSetup) -> None:
        self.engine = engine
        self.setup = setup
        self.context: Any = None
        self.page: Any = None
        self.relay: SocksRelay | None = None
        self.counts = TrackerCounts()
        self.workers: WorkerGuard | None = None
        self._binding = "__" + secrets.token_hex(8)
        self._worker_urls: set[str] = set()
        self._worker_prefix = ""

    async def open(self) -> BrowserTab:
        """Create the context and its page, profile applied before any page script."""
        browser = await self.engine.browser()
        s, fp = self.setup, self.setup.fingerprint
        proxy: dict[str, str] | None = None
        if s.proxy is not None:
            if s.proxy.needs_relay:
                self.relay = await SocksRelay(s.proxy.protocol, s.proxy.host, s.proxy.port,
                                              s.proxy.username, s.proxy.password).start()
                proxy = {"server": self.relay.url}
            else:
                proxy = {"server": f"{s.proxy.protocol}://{s.proxy.host}:{s.proxy.port}"}
                if s.proxy.username:
                    proxy |= {"username": s.proxy.username, "password": s.proxy.password or ""}
        screen = fp.values.screen
        try:
            self.context = await browser.new_context(
                proxy=proxy, user_agent=fp.user_agent, locale=s.locale, timezone_id=s.timezone,
                screen={"width": screen.width, "height": screen.height},
                viewport={"width": screen.avail_width,
                          "height": max(200, screen.avail_height - 80)},
                device_scale_factor=screen.pixel_ratio, service_workers="block",
                ignore_https_errors=False,
            )
        except Exception:
            await self._close_relay()
            raise
        script = guard_script(fp, languages=list(s.languages), webrtc=s.webrtc,
                              binding=self._binding)
        self._worker_prefix = guard_script(fp, languages=list(s.languages), webrtc=s.webrtc)
        await self.context.expose_binding(self._binding, self._worker_started)
        await self.context.add_init_script(script=script)
        # Interception costs every request, but it is the one place a worker's script can
        # get the guard in front before it runs (CDP injection races Playwright's resume).
        await self.context.route("**/*", self._route)
        self.page = await self.context.new_page()
        session = await self.context.new_cdp_session(self.page)
        await session.send("Emulation.setUserAgentOverride", {
            "userAgent": fp.user_agent, "acceptLanguage": ",".join(s.languages),
            "platform": fp.values.platform, "userAgentMetadata": _user_agent_metadata(fp)})
        self.workers = WorkerGuard(session, script)
        await self.workers.start()
        return self

    def _worker_started(self, _source: Any, url: str) -> None:
        """The page is about to start a worker from ``url`` (called through the binding)."""
        if isinstance(url, str) and len(self._worker_urls) < 1000:
            self._worker_urls.add(url)

    async def _route(self, route: Any) -> None:
        request = route.request
        if request.resource_type == "script":
            await asyncio.sleep(0)  # let a pending worker report (same CDP stream) land first
            if request.url in self._worker_urls:
                self._worker_urls.discard(request.url)
                await self._serve_worker(route)
                return
        blocker = self.setup.blocker
        if blocker is None:
            await route.continue_()
            return
        frame_url = ""
        try:
            frame_url = request.frame.url
        except Exception:
            frame_url = ""
        if blocker.blocks(request.url, frame_url, request.resource_type):
            self.counts.blocked += 1
            self.counts.domains[urlsplit(request.url).hostname or "?"] += 1
            await route.abort("blockedbyclient")
        else:
            self.counts.allowed += 1
            await route.continue_()

    async def _serve_worker(self, route: Any) -> None:
        """Fetch a worker's script (through the tab's proxy) and serve it with the guard first."""
        try:
            response = await route.fetch()
            body = await response.text()
        except Exception as exc:
            log.info("worker script fetch failed: %s", str(exc).splitlines()[0])
            await route.abort("failed")
            return
        if response.ok:
            body = self._worker_prefix + body
        await route.fulfill(response=response, body=body)

    async def goto(self, url: str, timeout: float = 30.0) -> NavigationResult:
        """Navigate and wait for the load event."""
        return await self._navigate(lambda: self.page.goto(url, timeout=timeout * 1000,
                                                           wait_until="load"))

    async def back(self, timeout: float = 30.0) -> NavigationResult:
        """Go back one history entry (no-op result if there is none)."""
        return await self._navigate(lambda: self.page.go_back(timeout=timeout * 1000))

    async def forward(self, timeout: float = 30.0) -> NavigationResult:
        """Go forward one history entry."""
        return await self._navigate(lambda: self.page.go_forward(timeout=timeout * 1000))

    async def reload(self, timeout: float = 30.0) -> NavigationResult:
        """Reload the current page."""
        return await self._navigate(lambda: self.page.reload(timeout=timeout * 1000))

    async def _navigate(self, action: Any) -> NavigationResult:
        if self.page is None or self.page.is_closed():
            raise BrowserError("the tab's page is closed")
        start = time.perf_counter()
        try:
            response = await action()
        except Exception as exc:
            raise BrowserError(_navigation_error(exc)) from None
        latency = (time.perf_counter() - start) * 1000
        title = ""
        try:
            title = await self.page.title()
        except Exception:
            log.debug("title unavailable", exc_info=True)
        return NavigationResult(url=self.page.url, status=response.status if response else None,
                                title=title, latency_ms=round(latency, 1))

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate JavaScript in the page (tests and diagnostics)."""
        return await self.page.evaluate(expression, arg)

    async def close(self) -> None:
        """Close the context (and its relay)."""
        if self.workers is not None:
            self.workers.stop()
        if self.context is not None:
            try:
                await self.context.close()
            except Exception:
                log.debug("context close failed", exc_info=True)
            self.context = None
        await self._close_relay()

    async def _close_relay(self) -> None:
        if self.relay is not None:
            await self.relay.close()
            self.relay = None


def _navigation_error(exc: Exception) -> str:
    """A one-line reason from a Playwright navigation error (Chromium's net:: code kept)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first.replace("Page.goto: ", "").replace("Page.reload: ", "")[:300]
