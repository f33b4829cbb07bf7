"""One asyncio loop thread owns Playwright and the Chromium processes; other threads submit
coroutines.

Playwright's async API is not thread-safe, so every call into it runs on this loop. Actors
call ``run`` (submit and wait) or ``submit`` (a ``concurrent.futures.Future``). Tabs run in
one Chromium per font set (an OS family's fonts, see ``_fonts``), launched on first use; when
one dies without being asked to, crash listeners are told (from the loop thread) and the next
use launches a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import shutil
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from adapters.egress import EgressGuard
from domain.egress import EgressPolicy
from domain.errors import BrowserError

from ._fonts import SYSTEM, FontSets, font_dir
from ._locate import Chromium, find_chromium
from ._realms import RealmGuard
from ._switches import DRIVER_NODE_OPTIONS, lean_switches

log = logging.getLogger(__name__)
T = TypeVar("T")

# --disable-background-networking & co.: no calls home (refused on closed networks anyway);
# the WebRTC policy is the only setting that yields no leaking ICE candidates
# (tests/browser/test_guards.py).
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
    """The loop thread, the Playwright instance and the (re)launched Chromium processes."""

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
        self._browsers: dict[str, Any] = {}  # font set -> running browser
        # each browser's interception for the realms no page session reaches
        self._realms: dict[str, RealmGuard] = {}
        self._launching: asyncio.Lock | None = None
        self._closing = False
        self._crash_listeners: list[Callable[[], None]] = []
        self._font_dir: str | None = None
        self._fonts: FontSets | None = None
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
        """Call ``listener()`` (on the loop thread) whenever a browser dies unasked."""
        self._crash_listeners.append(listener)

    # --- on the loop -----------------------------------------------------------------------------

    async def browser(self, fonts: str = SYSTEM) -> Any:
        """The running browser for the font set ``fonts``, launching it first if needed
        (coroutine, loop thread only)."""
        running = self._browsers.get(fonts)
        if running is not None and running.is_connected():
            return running
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:
            running = self._browsers.get(fonts)
            if running is None or not running.is_connected():
                running = self._browsers[fonts] = await self._launch(fonts)
        return running

    def running(self) -> dict[str, Any]:
        """The browsers running now, by font set (diagnostics and tests; loop thread)."""
        return {fonts: b for fonts, b in self._browsers.items() if b.is_connected()}

    def realms(self, fonts: str = SYSTEM) -> RealmGuard | None:
        """The browser-wide interception of the browser for ``fonts`` (once launched)."""
        return self._realms.get(fonts)

    async def locate(self) -> Chromium:
        """The Chromium executable tabs run, found without launching it."""
        if self.chromium is None:
            await self._start_playwright()
            own = Path(self._playwright.chromium.executable_path)
            self.chromium = await asyncio.to_thread(find_chromium, self._configured, own)
        return self.chromium

    async def _start_playwright(self) -> None:
        if self._playwright is None:
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise BrowserError("playwright is not installed (pip install playwright)") \
                    from None
            # the driver (node) copies this process's environment as it starts
            given = "NODE_OPTIONS" in os.environ
            if not given:
                os.environ["NODE_OPTIONS"] = DRIVER_NODE_OPTIONS
            try:
                self._playwright = await async_playwright().start()
            finally:
                if not given:
                    os.environ.pop("NODE_OPTIONS", None)

    def _font_config(self, fonts: str) -> dict[str, str]:
        """The environment a browser for ``fonts`` starts with: ``browser_environment``,
        and the font set's fontconfig file."""
        if self._fonts is None:
            self._font_dir = str(font_dir())
            self._fonts = FontSets(Path(self._font_dir))
        config = self._fonts.config(fonts)
        env = browser_environment()
        if config is not None:
            env["FONTCONFIG_FILE"] = str(config)
        return env

    async def _launch(self, fonts: str) -> Any:
        chromium = await self.locate()
        env = await asyncio.to_thread(self._font_config, fonts)
        lean = await asyncio.to_thread(lean_switches)  # read from the driver once
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=str(chromium.path), headless=self._headless,
                args=[*LAUNCH_ARGS, *lean], timeout=self._launch_timeout * 1000,
                chromium_sandbox=sandbox_possible(), env=env,
            )
        except Exception as exc:
            raise BrowserError(f"Chromium at {chromium.path} failed to start: "
                               f"{str(exc).splitlines()[0]}") from None
        try:
            self._realms[fonts] = await RealmGuard.start(browser)
        except Exception as exc:
            await browser.close()
            raise BrowserError(f"Chromium at {chromium.path} refused the browser-wide "
                               f"interception: {str(exc).splitlines()[0]}") from None
        browser.on("disconnected", lambda _b: self._disconnected(fonts, browser))
        self.launches += 1
        log.info("launched Chromium %s from %s (%s fonts)", chromium.version, chromium.path,
                 fonts)
        return browser

    def _disconnected(self, fonts: str, browser: Any) -> None:
        if self._closing or browser is not self._browsers.get(fonts):
            return
        log.error("Chromium (%s fonts) disconnected unexpectedly; it will be relaunched", fonts)
        self._browsers.pop(fonts, None)
        guard = self._realms.pop(fonts, None)
        if guard is not None:
            guard.stop()
        for listener in self._crash_listeners:
            try:
                listener()
            except Exception:
                log.exception("crash listener failed")

    async def _shutdown(self) -> None:
        for guard in self._realms.values():
            guard.stop()
        for fonts, browser in list(self._browsers.items()):
            try:
                await browser.close()
            except Exception:
                log.debug("browser close failed (%s fonts)", fonts, exc_info=True)
        self._browsers.clear()
        if self._playwright is not None:
            try:
                await self._playwright.stop()
            except Exception:
                log.debug("playwright stop failed", exc_info=True)
            self._playwright = None
        if self._font_dir is not None:
            shutil.rmtree(self._font_dir, ignore_errors=True)

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


# What Chromium is started with from this process's environment: what it needs to run
# (paths, locale, time zone, fontconfig, a display) and nothing else. The master key, the
# store password, systemd's credentials folder and any other secret stay out of
# /proc/<browser>/environ, which the browser (and anything that takes it over) can read.
_BROWSER_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "XDG_RUNTIME_DIR",
                "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "FONTCONFIG_FILE", "FONTCONFIG_PATH",
                "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")


def browser_environment() -> dict[str, str]:
    """The minimal environment Chromium is launched with (``_BROWSER_ENV`` and ``LC_*``)."""
    return {k: v for k, v in os.environ.items()
            if k in _BROWSER_ENV or (k.startswith("LC_") and k.isupper())}


def sandbox_possible() -> bool:
    """Whether Chromium's own sandbox can run here: not as root (Chromium refuses it) and
    with unprivileged user namespaces (Debian's switch, and a non-zero limit)."""
    if os.geteuid() == 0:
        return False
    for switch in ("/proc/sys/kernel/unprivileged_userns_clone",
                   "/proc/sys/user/max_user_namespaces"):
        try:
            if int(Path(switch).read_text().strip() or "0") == 0:
                return False
        except (OSError, ValueError):
            continue  # the kernel has no such switch: namespaces are not restricted by it
    return True
