"""One tab on the browser loop: a browser context with its own proxy and privacy profile."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from adapters.egress import EGRESS_HEADER, LocalProxy, direct, via_proxy
from domain.endpoints import endpoint_url
from domain.errors import BrowserError, EgressRefusedError
from domain.fingerprint import EngineFingerprint
from domain.locales import accept_language
from domain.text_limits import TITLE_CHARS, URL_CHARS, capped

from ._blocker import TrackerBlocker
from ._engine import BrowserEngine
from ._fonts import font_family
from ._guard import guard_script
from ._realms import TabIdentity
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
        return f"ProxyRoute({endpoint_url(self.protocol, self.host, self.port)})"

    @property
    def needs_relay(self) -> bool:
        """Chromium cannot authenticate to SOCKS proxies."""
        return self.protocol.startswith("socks") and bool(self.username)

    @property
    def challenges_browser(self) -> bool:
        """An HTTP(S) proxy with credentials: its 407 challenges reach the tab's session."""
        return bool(self.username) and not self.needs_relay


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
        "model": v.model,
        "mobile": v.mobile,
        "wow64": False,
    }


def profile_headers(fp: EngineFingerprint,
                    languages: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """The headers every request of the profile carries, and the client hints it adds on
    secure origins (the low-entropy ones Chromium sends unasked)."""
    v = fp.values
    headers = {"User-Agent": fp.user_agent, "Accept-Language": accept_language(languages)}
    hints = {"sec-ch-ua": ", ".join(f'"{brand}";v="{version}"' for brand, version in fp.brands),
             "sec-ch-ua-mobile": "?1" if v.mobile else "?0",
             "sec-ch-ua-platform": f'"{v.ua_platform}"'}
    return headers, hints


class BrowserTab:
    """A live context + page. Every method is a coroutine for the engine's loop."""

    def __init__(self, engine: BrowserEngine, setup: TabSetup,
                 on_crash: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.setup = setup
        self._on_crash = on_crash
        self.context: Any = None
        self.page: Any = None
        self.relay: LocalProxy | None = None  # direct tabs and SOCKS with credentials
        self.route: ProxyRoute | None = setup.proxy  # what Chromium is pointed at
        self.counts = TrackerCounts()
        self.workers: WorkerGuard | None = None
        self._session: Any = None
        self._context_id = ""  # Chromium's id of this tab's context
        self._fonts = ""  # the font set of the browser the context is in
        self._answers_auth = False  # this tab's session answers proxy challenges
        self._loading: asyncio.Future[Any] | None = None  # the navigation in progress
        self._aborted = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> BrowserTab:
        """Create the context and its page, profile applied before any page script."""
        s, fp = self.setup, self.setup.fingerprint
        # the browser whose fonts are the profile's system's
        self._fonts = font_family(fp.values.ua_platform)
        browser = await self.engine.browser(self._fonts)
        if s.proxy is None:  # direct: every request passes the egress guard
            self.relay = await LocalProxy(direct(self.engine.egress), "direct tab").start()
        elif s.proxy.needs_relay:
            p = s.proxy
            self.relay = await LocalProxy(via_proxy(p.protocol, p.host, p.port, p.username,
                                                    p.password), "SOCKS relay").start()
        if self.relay is not None:
            self.route = ProxyRoute("http", "127.0.0.1", self.relay.port, self.relay.username,
                                    self.relay.password)
        # One intercepting session answers the proxy's challenges (two answering the same
        # challenge make Chromium fail it with ERR_INVALID_AUTH_CREDENTIALS): Playwright's,
        # given the credentials, when tracker blocking routes every request through it;
        # otherwise this tab's own session, and Playwright never sees them.
        route = self.route
        proxy: dict[str, str] | None = None if route is None else {
            "server": endpoint_url(route.protocol, route.host, route.port)}
        self._answers_auth = route is not None and route.challenges_browser \
            and s.blocker is None
        if proxy is not None and route is not None and route.challenges_browser \
                and not self._answers_auth:
            proxy.update(username=route.username or "", password=route.password or "")
        screen, mobile = fp.values.screen, fp.values.mobile
        try:
            self.context = await browser.new_context(
                proxy=proxy, user_agent=fp.user_agent, locale=s.locale, timezone_id=s.timezone,
                screen={"width": screen.width, "height": screen.height},
                viewport={"width": screen.avail_width,  # phones: the browser bar is ~56 px
                          "height": max(200, screen.avail_height - (56 if mobile else 80))},
                device_scale_factor=screen.pixel_ratio, is_mobile=mobile, has_touch=mobile,
                # every request, workers' included, weighs the languages as Chrome does (the
                # locale alone would send "de-DE" on sub-resources)
                extra_http_headers={"Accept-Language": accept_language(s.languages)},
                # service workers run, as in Chrome, guarded like every worker (see _realms)
                service_workers="allow",
                ignore_https_errors=False,
            )
        except Exception:
            await self._close_relay()
            raise
        # one script (and so one secret token) for the page, its iframes and its workers;
        # blob workers are rebuilt from it by the guard itself
        script = guard_script(fp, languages=list(s.languages), webrtc=s.webrtc)
        await self.context.add_init_script(script=script)
        if s.blocker is not None:  # interception costs every request: only when blocking
            await self.context.route("**/*", self._route)
        self.page = await self.context.new_page()
        if self._on_crash is not None:
            on_crash = self._on_crash
            self.page.on("crash", lambda _page: on_crash())
        session = await self.context.new_cdp_session(self.page)
        identity = {"userAgent": fp.user_agent, "acceptLanguage": ",".join(s.languages),
                    "platform": fp.values.platform,
                    "userAgentMetadata": _user_agent_metadata(fp)}
        # the page and every target under it (out-of-process iframes, workers) present the
        # profile at the network level too: user agent, client hints, languages
        self.workers = WorkerGuard(session, identity)
        # every worker script of this context gets the guard in front as it is served, by
        # the browser-wide interception (see _realms)
        realms = self.engine.realms(self._fonts)
        if realms is None:
            raise BrowserError("the browser closed while the tab opened")
        target = (await session.send("Target.getTargetInfo"))["targetInfo"]
        self._context_id = target["browserContextId"]
        realms.register(self._context_id, target["targetId"],
                        TabIdentity(script, *profile_headers(fp, s.languages),
                                    blocks=None if s.blocker is None else self._blocks))
        self._session = session
        waits = [session.send("Emulation.setUserAgentOverride", identity),
                 self.workers.start()]
        if self._answers_auth:
            # Challenges reach only clients that intercept the request, and an intercepting
            # client must answer them (or Chromium cancels them): with proxy credentials every
            # request is intercepted (and continued at once), and this session answers the
            # proxy's challenges with its credentials, others with the default.
            session.on("Fetch.requestPaused", self._paused)
            session.on("Fetch.authRequired", self._auth_required)
            waits.append(session.send("Fetch.enable", {"handleAuthRequests": True, "patterns": [
                {"urlPattern": "*", "requestStage": "Request"}]}))
        # all in place before open() returns, so before any navigation
        await asyncio.gather(*waits)
        return self

    def _auth_required(self, event: dict[str, Any]) -> None:
        proxy = self.route
        if event.get("authChallenge", {}).get("source") == "Proxy" and proxy is not None \
                and proxy.challenges_browser:
            answer = {"response": "ProvideCredentials", "username": proxy.username,
                      "password": proxy.password or ""}
        else:
            answer = {"response": "Default"}
        self._spawn(self._session.send("Fetch.continueWithAuth", {
            "requestId": event["requestId"], "authChallengeResponse": answer}))

    def _paused(self, event: dict[str, Any]) -> None:
        self._spawn(self._serve_paused(event))

    def _spawn(self, work: Any) -> None:
        """Run an event's answer as a task, kept (and cancelled on close) by this tab."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_paused(self, event: dict[str, Any]) -> None:
        """Let an intercepted request go on (it was paused only so that its challenges reach
        this session)."""
        try:
            await self._session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
        except Exception as exc:  # the page closed, or the request was cancelled
            log.debug("intercepted request %s not continued: %s",
                      event["request"]["url"][:80], exc)

    def _blocks(self, url: str, source_url: str, resource_type: str) -> bool:
        """Whether tracker blocking refuses a request (counted), routed by Playwright or,
        for a shared worker's, paused by the browser-wide interception."""
        blocker = self.setup.blocker
        if blocker is None:
            return False
        blocked = blocker.blocks(url, source_url, resource_type)
        if blocked:
            self.counts.blocked += 1
            self.counts.domains[urlsplit(url).hostname or "?"] += 1
        else:
            self.counts.allowed += 1
        return blocked

    async def _route(self, route: Any) -> None:
        request = route.request
        frame_url = ""
        try:
            frame_url = request.frame.url
        except Exception:
            frame_url = ""
        if self._blocks(request.url, frame_url, request.resource_type):
            await route.abort("blockedbyclient")
        else:
            await route.continue_()

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
        refusals = self.relay.refusals if self.relay is not None else 0
        if self._aborted:
            raise BrowserError("navigation aborted (the work it was for was stopped)")
        self._loading = asyncio.ensure_future(action())
        try:
            response = await self._loading
        except asyncio.CancelledError:
            if not self._aborted:
                raise
            raise BrowserError("navigation aborted (the work it was for was stopped)") from None
        except Exception as exc:
            tunnel = "ERR_TUNNEL_CONNECTION_FAILED" in str(exc)  # an https page refused
            refusal = tunnel and self._refusal(refusals)
            if refusal:
                raise EgressRefusedError(refusal) from None
            raise BrowserError(_navigation_error(exc)) from None
        # only our own local proxy (direct tabs, SOCKS relays) sets the header: a proxied
        # tab skips the extra round trip to read it
        if self.relay is not None and response is not None \
                and await response.header_value(EGRESS_HEADER):
            refusal = self._refusal(refusals)
            if refusal:  # our own proxy answered: the page itself was refused
                raise EgressRefusedError(refusal)
        latency = (time.perf_counter() - start) * 1000
        title = ""
        try:
            title = await self.page.title()
        except Exception:
            log.debug("title unavailable", exc_info=True)
        return NavigationResult(url=capped(self.page.url, URL_CHARS),
                                status=response.status if response else None,
                                title=capped(title, TITLE_CHARS), latency_ms=round(latency, 1))

    def abort(self) -> None:
        """Abort the navigation in progress, from any thread: it fails at once with
        "navigation aborted" (the context stays usable, or is closed by its owner)."""
        def cancel() -> None:
            self._aborted = True  # also a navigation that has not started yet
            loading = self._loading
            if loading is not None and not loading.done():
                loading.cancel()

        self.engine.call_soon(cancel)

    def _refusal(self, since: int) -> str | None:
        """What the egress guard refused for this tab since it had ``since`` refusals."""
        relay = self.relay
        if relay is None or relay.refusals == since:
            return None
        return f"egress guard refused {relay.refused[-1]}"

    async def content(self) -> str:
        """The page's current HTML (what a results parser reads)."""
        if self.page is None or self.page.is_closed():
            raise BrowserError("the tab's page is closed")
        html: str = await self.page.content()
        return html

    async def rest(self) -> None:
        """Between searches in a kept tab: collect the renderer's garbage, the documents
        of earlier searches with it. Without it a kept tab's renderer grew ~1.2 MiB a
        search (+24 MiB over 20, 64 -> 88 MiB; with it 62 -> 71). The page read is over
        and the next search navigates away, so nothing a page runs can notice."""
        if self._session is not None and self.page is not None and not self.page.is_closed():
            await self._session.send("HeapProfiler.collectGarbage")

    async def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate JavaScript in the page (tests and diagnostics)."""
        return await self.page.evaluate(expression, arg)

    async def alive(self) -> bool:
        """Whether the browser this tab's context lives in is still running."""
        browser = None if self.context is None else self.context.browser
        return browser is not None and bool(browser.is_connected())

    async def close(self) -> None:
        """Close the context (and its relay)."""
        if self.workers is not None:
            self.workers.stop()
        for task in list(self._tasks):
            task.cancel()
        realms = self.engine.realms(self._fonts)
        if self._context_id and realms is not None:
            realms.forget(self._context_id)
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
