"""One asyncio loop thread owns Playwright and one Chromium; other threads submit coroutines.

Playwright's async API is not thread-safe, so every call into it runs on this loop. Actors
call ``run`` (submit and wait) or ``submit`` (a ``concurrent.futures.Future``). The browser is
launched on first use; when it dies without being asked to, crash listeners are told (from
the loop thread) and the next use launches a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from adapters.egress import EgressGuard
from domain.egress import EgressPolicy
from domain.errors import BrowserError

from ._locate import Chromium, find_chromium

log = logging.getLogger(__name__)
T = TypeVar("T")

# --disable-background-networking & co.: no calls home (refused on closed networks anyway);
# the WebRTC policy is the only setting that yields no leaking ICE candidates (DESIGN.md).
LAUNCH_ARGS = (
    "--disable-quic",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-blink-features=AutomationControlled",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--metrics-recording-only",
)


class BrowserEngine:
    """The loop thread, the Playwright instance and the (re)launched Chromium."""

    def __init__(self, chromium: Path | None = None, *, headless: bool = True,
                 launch_timeout: float = 60.0, egress: EgressGuard | None = None) -> None:
        self._configured = chromium
        # direct tabs connect through this guard (tests give it a resolver of their own)
        self.egress = egress or EgressGuard(EgressPolicy())
        self._headless = headless
        self._launch_timeout = launch_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vipb-browser",
                                        daemon=True)
        self._playwright: Any = None
        self._browser: Any = None
        self._launching: asyncio.Lock | None = None
        self._closing = False
        self._crash_listeners: list[Callable[[], None]] = []
        self.chromium: Chromium | None = None
        self.launches = 0
        self._thread.start()

    # --- threads -> loop -----------------------------------------------------------------------

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the browser loop; the future resolves with its result."""
        if self._closing:
            coro.close()
            raise BrowserError("the browser engine is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run ``coro`` on the browser loop and wait for its result."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise BrowserError(f"browser operation timed out after {timeout:.0f}s") from None

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Schedule a plain callback on the loop (thread-safe)."""
        self._loop.call_soon_threadsafe(fn)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop that owns Playwright."""
        return self._loop

    def add_crash_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (on the loop thread) whenever the browser dies unasked."""
        self._crash_listeners.append(listener)

    # --- on the loop -----------------------------------------------------------------------------

    async def browser(self) -> Any:
        """The running browser, launching it first if needed (coroutine, loop thread only)."""
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:
            if self._browser is None or not self._browser.is_connected():
                self._browser = await self._launch()
        return self._browser

    async def _launch(self) -> Any:
        if self._playwright is None:
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise BrowserError("playwright is not installed (pip install playwright)") \
                    from None
            self._playwright = await async_playwright().start()
        own = Path(self._playwright.chromium.executable_path)
        self.chromium = await asyncio.to_thread(find_chromium, self._configured, own)
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=str(self.chromium.path), headless=self._headless,
                args=list(LAUNCH_ARGS), timeout=self._launch_timeout * 1000,
                chromium_sandbox=False,
            )
        except Exception as exc:
            raise BrowserError(f"Chromium at {self.chromium.path} failed to start: "
                               f"{str(exc).splitlines()[0]}") from None
        browser.on("disconnected", lambda _b: self._disconnected(browser))
        self.launches += 1
        log.info("launched Chromium %s from %s", self.chromium.version, self.chromium.path)
        return browser

    def _disconnected(self, browser: Any) -> None:
        if self._closing or browser is not self._browser:
            return
        log.error("Chromium disconnected unexpectedly; it will be relaunched")
        self._browser = None
        for listener in self._crash_listeners:
            try:
                listener()
            except Exception:
                log.exception("crash listener failed")

    async def _shutdown(self) -> None:
        if self._browser is not None:
            try:
                await self._browser.close()
            except Exception:
                log.debug("browser close failed", exc_info=True)
            self._browser = None
        if self._playwright is not None:
            try:
                await self._playwright.stop()
            except Exception:
                log.debug("playwright stop failed", exc_info=True)
            self._playwright = None

    def close(self) -> None:
        """Close Chromium and Playwright, then stop the loop thread. Safe to call twice."""
        if self._closing:
            return
        self._closing = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(60)
        except Exception:
            log.warning("browser shutdown did not finish cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()
