"""The ``TabActor``: one per open tab. Drives its ``BrowserTab`` on the engine loop and
records what happened as events of its ``Tab`` aggregate."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from actors.base import VipbActor
from actors.writer import EventWriter
from adapters.browser import BrowserEngine, BrowserTab, NavigationResult, TabSetup
from adapters.proxycheck import PROBE_TIMEOUT, tunnel_fault
from domain.errors import BrowserError, ProxyFaultError, ValidationError
from domain.route_fault import RouteFault, route_fault
from domain.tab import Tab
from domain.text_limits import ERROR_CHARS, capped

log = logging.getLogger(__name__)

STATS_EVERY = 60.0  # seconds between TrackerStatsRecorded summaries of a busy tab

Outcome = Callable[[str, bool, float | None], None]  # (proxy id, ok, latency ms)


@dataclass(frozen=True)
class PageCrashed:
    """Told by the page's crash handler (the renderer died, the browser did not)."""


@dataclass
class _PageHistory:
    """How far the current page's own history reaches around the tab's page: a page opened
    after a proxy change or a crash starts with the tab's page alone (its first entry,
    about:blank, is not the tab's), so ``back`` and ``forward`` beyond it load the tab's
    recorded pages instead of leaving for about:blank."""

    behind: int = -1  # -1: nothing loaded in this page yet
    ahead: int = 0

    def loaded(self) -> None:
        """A new page in this browser page (what was ahead is gone)."""
        self.behind, self.ahead = self.behind + 1, 0

    def moved(self, action: str) -> None:
        """Record a navigation done by ``action`` in this page (``back``/``forward`` through
        the page's own history, or a load)."""
        if action == "back":
            self.behind, self.ahead = self.behind - 1, self.ahead + 1
        elif action == "forward":
            self.behind, self.ahead = self.behind + 1, self.ahead - 1
        elif action != "reload":
            self.loaded()


class TabActor(VipbActor):
    """One tab: its context, its page, its events."""

    def __init__(self, tab_id: UUID, writer: EventWriter, engine: BrowserEngine,
                 setup: TabSetup, profile_id: str, proxy_id: str | None,
                 outcome: Outcome | None = None, clock: Callable[[], float] = time.monotonic,
                 timeout: float = 30.0) -> None:
        super().__init__()
        self.tab_id = tab_id
        self._writer = writer
        self._engine = engine
        self._setup = setup
        self._profile_id = profile_id
        self._proxy_id = proxy_id
        self._outcome = outcome
        self._clock = clock
        self._timeout = timeout
        self._tab: Tab | None = None
        self._browser_tab: BrowserTab | None = None
        self._native = _PageHistory()
        self._stats_at = clock()

    # --- lifecycle -------------------------------------------------------------------------------

    def open(self, url: str | None, label: str | None, proxy_reason: str,
             existing: bool = False, purpose: str | None = None) -> dict[str, Any]:
        """Record TabOpened (or load the tab after a restart), open the context, load ``url``.
        ``purpose``: what a task opens the tab for (see ``Tab``)."""
        if existing:
            self._tab = self._writer.load(Tab, self.tab_id)
        if self._tab is None:
            self._tab = Tab(id=self.tab_id, profile_id=self._profile_id, proxy_id=self._proxy_id,
                            label=label, proxy_reason=proxy_reason, purpose=purpose)
            self._writer.save(self._tab)
        self._browser_tab = self._engine.run(self._new_page(self._setup))
        self._native = _PageHistory()
        if url:
            self._go("goto", url)
        return self.info()

    async def _new_page(self, setup: TabSetup) -> BrowserTab:
        ref = self.actor_ref
        return await BrowserTab(self._engine, setup,
                                on_crash=lambda: ref.tell(PageCrashed())).open()

    def on_receive(self, message: Any) -> Any:
        """Told messages: the page's renderer crashed."""
        if isinstance(message, PageCrashed) and self._browser_tab is not None:
            self._recover("renderer crashed")
        return None

    def info(self) -> dict[str, Any]:
        """Where the tab is (from its aggregate; a prepared tab not opened yet is nowhere)."""
        if self._tab is None:
            return {"id": str(self.tab_id), "profile_id": self._profile_id,
                    "proxy_id": self._proxy_id, "label": None, "url": None, "history": [],
                    "position": 0}
        tab = self._aggregate()
        return {"id": str(self.tab_id), "profile_id": tab.profile_id, "proxy_id": tab.proxy_id,
                "label": tab.label, "url": tab.url, "history": list(tab.history),
                "position": tab.version}

    def _aggregate(self) -> Tab:
        assert self._tab is not None, "tab not opened"
        return self._tab

    def _page(self) -> BrowserTab:
        if self._browser_tab is None:
            raise BrowserError("the tab has no page (it is being reopened)")
        return self._browser_tab

    # --- navigation ------------------------------------------------------------------------------

    def navigate(self, url: str) -> dict[str, Any]:
        """Load ``url``; a failure is recorded and raised as ``BrowserError``."""
        return self._go("goto", url)

    def restore(self) -> dict[str, Any]:
        """Load the tab's last URL again (after a restart or a crash)."""
        return self._go("restore")

    def back(self) -> dict[str, Any]:
        """Go back one entry of the tab's history (through the page's own history where it
        has one: a page opened after a proxy change or a crash loads the tab's earlier page
        instead). With nothing behind, the tab stays where it is."""
        return self._step("back", self._aggregate().previous_url, self._native.behind > 0)

    def forward(self) -> dict[str, Any]:
        """Go forward one entry of the tab's history (see ``back``)."""
        return self._step("forward", self._aggregate().next_url, self._native.ahead > 0)

    def _step(self, action: str, target: str | None, native: bool) -> dict[str, Any]:
        if target is None:
            raise ValidationError(f"the tab has no page to go {action} to", field="tab_id")
        return self._go(action, None if native else target)

    def reload(self) -> dict[str, Any]:
        """Reload the current page."""
        return self._go("reload")

    def _go(self, action: str, url: str | None = None) -> dict[str, Any]:
        page, tab = self._page(), self._aggregate()
        target = url or tab.url or ""
        native = {"back": lambda: page.back(self._timeout),
                  "forward": lambda: page.forward(self._timeout),
                  "reload": lambda: page.reload(self._timeout)}
        load = native.get(action) if url is None else None
        try:
            result: NavigationResult = self._engine.run(
                (load or (lambda: page.goto(target, self._timeout)))(),
                timeout=self._timeout + 30)
            self._native.moved(action if load else "goto")
        except BrowserError as exc:
            fault = self._proxy_fault(exc.message, target)
            error = capped(exc.message if fault in (None, "") else f"{exc.message} ({fault})",
                           ERROR_CHARS)
            tab.navigation_failed(url=target, error=error, proxy_id=self._proxy_id,
                                  action=action)
            self._save_with_stats(tab)
            if fault is None:
                raise
            if self._proxy_id and self._outcome:
                self._outcome(self._proxy_id, False, None)
            raise ProxyFaultError(error) from None
        tab.navigated(url=result.url, status=result.status, title=result.title,
                      latency_ms=result.latency_ms, proxy_id=self._proxy_id, action=action)
        ids = self._save_with_stats(tab)
        if self._proxy_id and self._outcome:
            self._outcome(self._proxy_id, True, result.latency_ms)
        return {"id": str(self.tab_id), "url": result.url, "status": result.status,
                "title": result.title, "latency_ms": result.latency_ms,
                "proxy_id": self._proxy_id, "position": ids[-1] if ids else 0}

    def _proxy_fault(self, message: str, url: str) -> str | None:
        """Whether the tab's proxy is to blame for a load that failed with ``message``: None
        when it is not, "" when Chromium named it, else what a fresh tunnel through it to
        the page's host found (see ``domain.route_fault``)."""
        route = self._setup.proxy
        if not self._proxy_id or route is None:
            return None
        fault = route_fault(message)
        if fault is RouteFault.PROXY:
            return ""
        target = urlsplit(url)
        if fault is RouteFault.NONE or not target.hostname:
            return None
        try:
            port = target.port or (443 if target.scheme == "https" else 80)
        except ValueError:
            return None
        try:
            return self._engine.run(
                tunnel_fault(route.protocol, route.host, route.port, route.username,
                             route.password, target.hostname, port),
                timeout=PROBE_TIMEOUT + 10)
        except BrowserError:  # the browser's loop is going away: nothing to tell
            return None

    def _save_with_stats(self, tab: Tab) -> list[int]:
        """Save, adding a tracker summary when one is due (the same transaction)."""
        if self._clock() - self._stats_at >= STATS_EVERY:
            self._record_stats(tab)
        return self._writer.save(tab)

    def _record_stats(self, tab: Tab) -> bool:
        """Add the blocker counts since the last summary to ``tab`` (unsaved); False when
        there was nothing to record."""
        self._stats_at = self._clock()
        if self._browser_tab is None:
            return False
        counts = self._browser_tab.counts.take()
        if not (counts.blocked or counts.allowed):
            return False
        tab.tracker_stats(blocked=counts.blocked, allowed=counts.allowed,
                          top_domains=dict(counts.domains.most_common(20)))
        return True

    def live_stats(self) -> dict[str, Any]:
        """Blocker counts not yet recorded."""
        counts = self._browser_tab.counts if self._browser_tab else None
        return {"tab_id": str(self.tab_id), "blocked": counts.blocked if counts else 0,
                "allowed": counts.allowed if counts else 0,
                "top_domains": dict(counts.domains.most_common(20)) if counts else {}}

    # --- changes ---------------------------------------------------------------------------------

    def update(self, label: str | None) -> dict[str, Any]:
        """Change the label."""
        tab = self._aggregate()
        if tab.label != label:
            tab.updated(label=label)
            self._writer.save(tab)
        return self.info()

    def assign_proxy(self, setup: TabSetup, proxy_id: str | None, reason: str) -> str | None:
        """Reopen the context behind another proxy and reload the current URL.

        Returns why the reload failed (on record as TabNavigationFailed), or None."""
        tab = self._aggregate()
        if self._record_stats(tab):
            self._writer.save(tab)
        self._close_page()
        self._setup, self._proxy_id = setup, proxy_id
        tab.proxy_assigned(proxy_id=proxy_id, reason=reason)
        self._writer.save(tab)
        return self._reopen("proxy change")

    def crashed(self) -> None:
        """A browser died: if it was this tab's, record it, reopen the context, restore the
        page (tabs of another font set's browser live on)."""
        if self._browser_tab is not None and self._engine.run(self._browser_tab.alive()):
            return
        self._browser_tab = None  # its context died with the browser
        if self._tab is None:
            return  # prepared, not opened yet: its open() uses the relaunched browser
        self._recover("browser process disconnected")

    def _recover(self, reason: str) -> None:
        tab = self._aggregate()
        self._close_page()  # a crashed page's context is still open: close it
        tab.crashed(reason=reason)
        self._writer.save(tab)
        self._reopen("crash")

    def _reopen(self, after: str) -> str | None:
        """A new context with the current setup, and the last page loaded again (a failed
        load is on record as TabNavigationFailed, and its reason returned)."""
        self._browser_tab = self._engine.run(self._new_page(self._setup))
        self._native = _PageHistory()
        if self._aggregate().url:
            try:
                self._go("restore")
            except BrowserError as exc:
                log.info("tab %s: restore after %s failed", self.tab_id, after)
                return exc.message
        return None

    def close(self, reason: str = "closed by user") -> dict[str, Any]:
        """Record the last tracker counts and TabClosed, close the context (a prepared tab
        that never opened has nothing on record: it just stops)."""
        info = self.info()
        if self._tab is None:
            self._close_page()
            self.stop()
            return info
        tab = self._aggregate()
        if not tab.closed:
            self._record_stats(tab)  # saved with the close
            tab.close(reason=reason)
            ids = self._writer.save(tab)
            info["position"] = ids[-1]
        self._close_page()
        self.stop()
        return info

    def _close_page(self) -> None:
        if self._browser_tab is not None:
            try:
                self._engine.run(self._browser_tab.close(), timeout=30)
            except Exception:
                log.debug("closing tab %s failed", self.tab_id, exc_info=True)
            self._browser_tab = None

    def page_handle(self) -> BrowserTab:
        """The tab's page object, for ``abort()`` from another thread while this actor is
        busy loading (a stopped search behind a silent proxy)."""
        return self._page()

    def content(self) -> str:
        """The current page's HTML."""
        html: str = self._engine.run(self._page().content(), timeout=self._timeout + 30)
        return html

    def rest(self) -> None:
        """A kept search tab between searches: free what earlier pages left (not waited
        for; a tab that cannot is closed by its next search's failure, not here)."""
        if self._browser_tab is None:
            return
        try:
            future = self._engine.submit(self._browser_tab.rest())
        except BrowserError:  # the engine is closing
            return
        tab_id = self.tab_id

        def done(f: concurrent.futures.Future[None]) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.debug("tab %s did not rest: %s", tab_id, f.exception())

        future.add_done_callback(done)

    def refused(self, at_least: int = 0, timeout: float = 60.0) -> list[str]:
        """What the egress guard refused for this tab (direct tabs and SOCKS relays),
        waiting up to ``timeout`` for ``at_least`` refusals in all."""
        relay = self._page().relay
        if relay is None:
            return []
        return self._engine.run(relay.wait_refusals(at_least, timeout), timeout=timeout + 30)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Evaluate JavaScript in the page (tests and diagnostics only)."""
        return self._engine.run(self._page().evaluate(expression, arg))

    def on_stop(self) -> None:
        """Make sure the context does not outlive the actor."""
        self._close_page()
