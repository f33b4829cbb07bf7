"""The ``TabSupervisorActor``: opens tabs (route and setup from the ``RoutePlanner``: proxy
from the rotation engine, setup from the privacy guard), keeps one ``TabActor`` per open
tab, holds the routes of searches until they are done, and reopens tabs after a browser
crash.

Search tabs are kept warm, as a person keeps a browser window open between searches: a
search that worked parks its tab, and the next search with the same profile behind the
same proxy (and the same setup: a changed profile or proxy credential is another browser)
takes it instead of opening a new context. A new context costs Chromium a renderer process
and the page's first load from cold caches: a warm tab reads the next results page at
about three times the rate and half the CPU (``scripts/bench/peer.py``). A tab serves
``SEARCHES_PER_TAB`` searches, then closes (its cookies go with it: engines link what one
cookie jar does), and closes after ``WARM_IDLE`` seconds parked, so an idle host holds no
renderer; at most ``warm_tabs`` are parked. A search that failed closes its tab (a
challenged or broken session is not carried on); so does a browser crash and a stop."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.privacy_guard import PrivacyGuardActor
from actors.route_planner import Route, RoutePlanner, Ticket
from actors.tab_actor import TabActor
from actors.writer import EventWriter
from adapters.browser import BrowserEngine, TabSetup
from domain import rules
from domain.errors import BrowserError, ProxyNotFoundError, TabNotFoundError, ValidationError
from domain.tab import BrowsingSession, session_id

log = logging.getLogger(__name__)


SEARCHES_PER_TAB = 20
WARM_IDLE = 120.0


@dataclass(frozen=True)
class BrowserCrashed:
    """Told by the engine's crash listener."""


@dataclass(frozen=True)
class SweepParked:
    """Told by the timer a parked tab starts: close the tabs parked too long."""


@dataclass
class _Warm:
    """A search tab that may serve more searches of its profile behind its proxy."""

    key: str
    actor: pykka.ActorProxy[TabActor]
    setup: TabSetup
    profile_id: str
    proxy_id: str | None
    searches: int = 1
    parked_at: float = 0.0


def open_prepared(tabs: pykka.ActorProxy[TabSupervisorActor], tab_id: str,
                  actor: pykka.ActorProxy[TabActor], label: str | None, reason: str,
                  timeout: float, purpose: str | None = None) -> dict[str, Any]:
    """Open a tab ``prepare`` made, on its own actor (the context is created there, so a slow
    one never holds up the supervisor); a tab that fails to open is discarded (its proxy
    released) before the failure is raised. ``purpose``: see ``Tab``."""
    try:
        info: dict[str, Any] = actor.open(None, label, reason, purpose=purpose).get(
            timeout=timeout)
    except BaseException:
        tabs.discard(tab_id, "failed to open").get(timeout=timeout)
        raise
    return info


def open_tab(tabs: pykka.ActorProxy[TabSupervisorActor], url: str | None, profile: str,
             proxy: str, country: str | None, label: str | None,
             timeout: float) -> tuple[pykka.ActorProxy[TabActor], dict[str, Any]]:
    """Open someone's tab from the caller's thread: the supervisor picks the proxy and sets
    up the profile (``prepare``), the tab's own actor creates the context (``url`` informs
    the proxy pick; nothing is loaded yet). The tab's actor and where the tab is."""
    tab_id, actor, reason = tabs.prepare(url, profile, proxy, country).get(timeout=timeout)
    return actor, open_prepared(tabs, tab_id, actor, label, reason, timeout)


def close_tab(tabs: pykka.ActorProxy[TabSupervisorActor], tab_id: str, reason: str,
              timeout: float) -> dict[str, Any]:
    """Close a tab from the caller's thread: the supervisor lets go of it (``detach``), the
    tab's own actor records the close and closes the context, then its proxy is released."""
    actor = tabs.detach(tab_id).get(timeout=timeout)
    try:
        info: dict[str, Any] = actor.close(reason).get(timeout=timeout)
    finally:
        with contextlib.suppress(pykka.ActorDeadError):  # stopping: its routes go with it
            tabs.release(tab_id)
    return info


def load_session(tabs: pykka.ActorProxy[TabSupervisorActor], name: str,
                 timeout: float) -> dict[str, Any]:
    """Reopen a saved session's tabs from the caller's thread (proxies picked as they were;
    ``auto`` re-picks), loading each one's page on its own actor."""
    name, saved = tabs.session_tabs(name).get(timeout=timeout)
    opened = []
    for tab in saved:
        actor, info = open_tab(tabs, tab["url"], tab["profile"], tab["proxy"], None,
                               tab["label"], timeout)
        if tab["url"]:
            info = navigate(actor, tab["url"])
        opened.append(info)
    position = tabs.session_loaded(name, [t["id"] for t in opened]).get(timeout=timeout)
    return {"id": str(session_id(name)), "name": name, "tabs": opened, "position": position}


def assign_tab_proxy(tabs: pykka.ActorProxy[TabSupervisorActor], tab_id: str, proxy: str,
                     country: str | None, timeout: float) -> dict[str, Any]:
    """Move a tab to another proxy from the caller's thread: the supervisor picks the route,
    the tab's own actor builds the new context and reloads the page."""
    actor, setup, proxy_id, reason = tabs.prepare_move(tab_id, proxy, country).get(
        timeout=timeout)
    done = False
    try:
        error = actor.assign_proxy(setup, proxy_id, reason).get(timeout=timeout)
        done = True
    finally:
        with contextlib.suppress(pykka.ActorDeadError):
            tabs.moved(tab_id, done)
    info: dict[str, Any] = actor.info().get(timeout=timeout)
    return {**info, "error": error} if error else info


def navigate(actor: pykka.ActorProxy[TabActor], url: str) -> dict[str, Any]:
    """Load ``url`` in a new tab; a failed load is reported in the result, not raised (the
    tab is open and the failure is on record)."""
    try:
        result: dict[str, Any] = actor.navigate(url).get()
    except BrowserError as exc:
        result = {**actor.info().get(), "error": exc.message}
    return result


class TabSupervisorActor(VipbActor):
    """Owns the tab actors and the engine they share."""

    def __init__(self, writer: EventWriter, engine: BrowserEngine,
                 guard: pykka.ActorProxy[PrivacyGuardActor], planner: RoutePlanner,
                 timeout: float = 30.0, warm_tabs: int = 2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``planner``: the routes and setups of its tabs (shared with the search workers,
        who make their tickets there: see ``hold``). ``warm_tabs``: search tabs kept parked
        at most (the searches that run at once)."""
        super().__init__()
        self._warm_cap = warm_tabs
        self._clock = clock
        self._parked: list[_Warm] = []  # oldest first
        self._serving: dict[str, _Warm] = {}  # search tabs in use, by tab id
        self._sweep: threading.Timer | None = None
        self._writer = writer
        self._engine = engine
        self._guard = guard
        self._planner = planner
        self._timeout = timeout
        self._tabs: dict[str, pykka.ActorProxy[TabActor]] = {}
        self._routes: dict[str, Route] = {}
        self._moving: dict[str, Route] = {}  # tabs being moved to these routes
        self._tickets: dict[str, Ticket] = {}  # routes held for searches, no tab yet

    def on_start(self) -> None:
        """Hear about browser crashes."""
        ref = self.actor_ref
        self._engine.add_crash_listener(lambda: ref.tell(BrowserCrashed()))

    def on_receive(self, message: Any) -> Any:
        """Told messages: browser crashes, sweeps of parked tabs."""
        if isinstance(message, BrowserCrashed):
            self._close_parked(lambda _warm: True, "the browser crashed")
            self._reopen_all()
        elif isinstance(message, SweepParked):
            self._sweep = None
            now = self._clock()
            self._close_parked(lambda warm: now - warm.parked_at >= WARM_IDLE,
                               "idle search tab closed")
            self._schedule_sweep()
        return None

    # --- channels --------------------------------------------------------------------------------

    def prepare(self, url: str | None, profile: str, proxy: str, country: str | None,
                avoid: tuple[str, ...] = (), fresh: str | None = None,
                require: str | None = None) -> tuple[str, pykka.ActorProxy[TabActor], str]:
        """(tab id, actor, proxy reason) of a tab whose proxy is picked and profile set up,
        but whose context is not created yet: the caller opens it on the tab's own actor
        (``open``), so work that opens many tabs (searches) never waits on this supervisor
        while another context is being created; ``discard`` it if that fails. ``avoid``:
        proxies the rotation engine must not pick; ``fresh``: a device (desktop/mobile)
        for a one-off profile instead of ``profile``; ``require``: the country the tab must
        leave from (see ``RoutePlanner.route``)."""
        tab_id = uuid.uuid4()
        route = self._planner.route(proxy, url, country, tab_id.hex, avoid, require)
        actor, _setup = self._start_tab(tab_id, profile, route, fresh)
        return str(tab_id), actor, route.reason

    def hold(self, ticket: Ticket) -> None:
        """Hold a ticket's route until ``release`` (or a tab started on it with
        ``tab_on``); it is released with the supervisor if nobody does."""
        self._routes[ticket.key] = ticket.route
        self._tickets[ticket.key] = ticket

    def tab_on(self, key: str) -> tuple[str, pykka.ActorProxy[TabActor], bool]:
        """A search tab behind a ticket's route: (tab id, actor, whether it is open
        already). A parked tab of the same profile, proxy and setup is taken (open: the
        caller only navigates); else a new one is started under ``key`` (the caller opens
        it with ``open_prepared``). Either way the caller hands it back with ``park``, or
        closes it (``close_tab``, which releases the route)."""
        ticket = self._tickets.pop(key, None)
        route = self._routes.pop(key, None)
        self._end_ticket(ticket)
        if ticket is None or route is None:
            raise ValidationError(f"no route is held under {key}", field="key")
        warm = None if ticket.one_off else self._take_parked(ticket)
        if warm is not None:
            warm.searches += 1
        else:
            actor = TabActor.start(UUID(key), self._writer, self._engine, ticket.setup,
                                   ticket.profile_id, route.proxy_id, self._planner.outcome,
                                   timeout=self._timeout).proxy()
            warm = _Warm(key, actor, ticket.setup, ticket.profile_id, ticket.proxy_id)
        self._tabs[warm.key], self._routes[warm.key] = warm.actor, route
        if not ticket.one_off:
            self._serving[warm.key] = warm
        return warm.key, warm.actor, warm.searches > 1

    def _end_ticket(self, ticket: Ticket | None) -> None:
        """A ticket is done with HTTP (its search ended, or goes on in a tab): a one-off
        profile's session closes (it would serve no other search, and held its
        connections and cookies until the least recently used went)."""
        if ticket is not None and ticket.one_off:
            self._planner.fetcher.retire(ticket.session)

    def _take_parked(self, ticket: Ticket) -> _Warm | None:
        for warm in reversed(self._parked):  # the most recently used first
            if (warm.profile_id, warm.proxy_id, warm.setup) == \
                    (ticket.profile_id, ticket.proxy_id, ticket.setup):
                self._parked.remove(warm)
                if warm.actor.actor_ref.is_alive():
                    return warm
        return None

    def park(self, tab_id: str) -> bool:
        """A search in tab ``tab_id`` worked: keep the tab for the next search of its
        profile behind its proxy (its proxy is released now). False when it is not kept
        (it served its searches, or was not a search tab): close it (``close_tab``)."""
        key = str(UUID(tab_id))
        warm = self._serving.pop(key, None)
        if warm is None or warm.searches >= SEARCHES_PER_TAB or self._warm_cap <= 0 \
                or not warm.actor.actor_ref.is_alive():
            return False
        self._tabs.pop(key, None)
        self._planner.release(self._routes.pop(key, None))
        warm.parked_at = self._clock()
        warm.actor.rest()  # not waited for
        self._parked.append(warm)
        while len(self._parked) > self._warm_cap:
            self._close(self._parked.pop(0), "too many idle search tabs")
        self._schedule_sweep()
        return True

    def _schedule_sweep(self) -> None:
        if self._sweep is not None or not self._parked:
            return
        ref = self.actor_ref
        due = min(w.parked_at for w in self._parked) + WARM_IDLE - self._clock()
        self._sweep = threading.Timer(max(0.0, due) + 0.5,
                                      lambda: ref.tell(SweepParked()) if ref.is_alive() else None)
        self._sweep.daemon = True
        self._sweep.start()

    def _close_parked(self, which: Callable[[_Warm], bool], reason: str) -> None:
        for warm in [w for w in self._parked if which(w)]:
            self._parked.remove(warm)
            self._close(warm, reason)

    @staticmethod
    def _close(warm: _Warm, reason: str) -> None:
        """Close a parked tab on its own actor, on record (a context closes in tens of
        milliseconds: waited for, so a sweep is over when it returns)."""
        if warm.actor.actor_ref.is_alive():
            try:
                warm.actor.close(reason).get()
            except Exception:
                log.exception("closing search tab %s failed", warm.key)

    def discard(self, tab_id: str, reason: str) -> None:
        """Forget a prepared tab that could not be opened (its proxy is released)."""
        self._forget(str(UUID(tab_id)), reason=reason)

    def _start_tab(self, tab_id: UUID, profile: str, route: Route,
                   fresh: str | None = None) -> tuple[pykka.ActorProxy[TabActor], TabSetup]:
        """Start a tab's actor behind ``route`` and register it (the caller opens it)."""
        try:
            profile_id, setup = self._planner.setup(profile, route, fresh)
            actor = TabActor.start(tab_id, self._writer, self._engine, setup, profile_id,
                                   route.proxy_id, self._planner.outcome,
                                   timeout=self._timeout).proxy()
        except BaseException:
            self._planner.release(route)
            raise
        self._tabs[str(tab_id)], self._routes[str(tab_id)] = actor, route
        return actor, setup

    def tab(self, tab_id: str) -> pykka.ActorProxy[TabActor]:
        """The actor of an open tab."""
        key = str(UUID(tab_id))
        actor = self._tabs.get(key)
        if actor is None or not actor.actor_ref.is_alive():
            raise TabNotFoundError(tab_id)
        return actor

    def detach(self, tab_id: str) -> pykka.ActorProxy[TabActor]:
        """Let go of an open tab that its caller closes on the tab's own actor (see
        ``close_tab``); its route stays until ``release``."""
        actor = self.tab(tab_id)
        self._tabs.pop(str(UUID(tab_id)), None)
        return actor

    def release(self, tab_id: str) -> None:
        """A detached tab is closed, or a ticket's search is done without one: its proxy is
        free for the rotation engine again."""
        key = str(UUID(tab_id))
        self._end_ticket(self._tickets.pop(key, None))
        self._serving.pop(key, None)  # a search tab closed instead of parked
        self._planner.release(self._routes.pop(key, None))

    def _forget(self, key: str, reason: str | None) -> None:
        self._serving.pop(key, None)
        actor = self._tabs.pop(key, None)
        if actor is not None and reason is not None and actor.actor_ref.is_alive():
            try:
                actor.close(reason).get()
            except Exception:
                log.exception("closing tab %s failed", key)
        self._planner.release(self._routes.pop(key, None))

    def prepare_move(self, tab_id: str, proxy: str, country: str | None
                     ) -> tuple[pykka.ActorProxy[TabActor], TabSetup, str | None, str]:
        """Pick the route and set up the profile for moving a tab to another proxy: (the
        tab's actor, its setup, the new proxy id, why it was picked). The caller moves the
        tab on its own actor and reports back with ``moved`` (see ``assign_tab_proxy``)."""
        actor, key = self.tab(tab_id), str(UUID(tab_id))
        info = actor.info().get()
        current = info["proxy_id"]  # "auto" means another proxy: the move is the point
        route = self._planner.route(proxy, info["url"], country, key,
                            avoid=(current,) if proxy == "auto" and current else ())
        try:
            _, setup = self._planner.setup(self._profile_name(info["profile_id"]), route)
        except BaseException:
            self._planner.release(route)
            raise
        self._moving[key] = route
        return actor, setup, route.proxy_id, route.reason

    def moved(self, tab_id: str, done: bool) -> None:
        """The tab is behind its new route (``done``; the old one is released), or the move
        failed (the new one is released)."""
        key = str(UUID(tab_id))
        route = self._moving.pop(key, None)
        if route is None:
            return
        if not done:
            self._planner.release(route)
            return
        self._planner.release(self._routes.get(key))
        self._routes[key] = route

    def _profile_name(self, profile_id: str) -> str:
        from domain.privacy import PrivacyProfile

        profile = self._writer.load(PrivacyProfile, UUID(profile_id))
        if profile is None:
            raise ValidationError(f"profile {profile_id} no longer exists", field="profile")
        return str(profile.name)

    def open_tabs(self) -> list[str]:
        """Ids of the open tabs."""
        return list(self._tabs)

    def tabs_with_profile(self, profile_id: str) -> list[str]:
        """Ids of the open tabs of privacy profile ``profile_id``."""
        infos = {key: actor.info() for key, actor in self._tabs.items()}
        return [key for key, info in infos.items() if info.get()["profile_id"] == profile_id]

    def stats(self, tab_id: str | None) -> list[dict[str, Any]]:
        """Counts not yet recorded, per open tab."""
        actors = [self.tab(tab_id)] if tab_id else list(self._tabs.values())
        return [a.live_stats().get() for a in actors]

    def _reopen_all(self) -> None:
        for key, actor in list(self._tabs.items()):
            try:
                actor.crashed().get()
            except Exception:
                log.exception("reopening tab %s after a crash failed", key)

    # --- sessions --------------------------------------------------------------------------------

    def save_session(self, name: str, tab_ids: list[str] | None) -> dict[str, Any]:
        """Store open tabs (URL, proxy, profile) under ``name``."""
        keys = [str(UUID(t)) for t in tab_ids] if tab_ids else list(self._tabs)
        tabs = []
        for key in keys:
            info = self.tab(key).info().get()
            route = self._routes[key]
            tabs.append({"url": info["url"], "profile_id": info["profile_id"],
                         "proxy": route.proxy_id if not route.selected else "auto",
                         "proxy_id": route.proxy_id, "label": info["label"]})
        session = self._writer.load(BrowsingSession, session_id(name))
        if session is None:
            session = BrowsingSession(id=session_id(name), name=name)
        session.save(tabs=tabs)
        ids = self._writer.save(session)
        return {"id": str(session.id), "name": name, "tabs": len(tabs), "position": ids[-1]}

    def session_tabs(self, name: str) -> tuple[str, list[dict[str, Any]]]:
        """A saved session's name as saved and its tabs to reopen (url, profile name, proxy,
        label), each URL checked against the egress rules first (see ``load_session``)."""
        session = self._writer.load(BrowsingSession, session_id(name))
        if session is None:
            raise ValidationError(f"no saved session {name!r} (see `vipb session list`)",
                                  field="name")
        for number, saved in enumerate(session.tabs, start=1):
            self._check_target(saved["url"], f"tabs.{number}.url")
        return session.name, [
            {"url": saved["url"], "profile": self._profile_name(saved["profile_id"]),
             "proxy": saved["proxy"] or "direct", "label": saved.get("label")}
            for saved in session.tabs]

    def session_loaded(self, name: str, tab_ids: list[str]) -> int:
        """Record that a saved session's tabs were reopened; the position."""
        session = self._writer.load(BrowsingSession, session_id(name))
        if session is None:
            raise ValidationError(f"no saved session {name!r}", field="name")
        session.loaded(tab_ids=tab_ids)
        return self._writer.save(session)[-1]

    def check_profile(self, name: str, device: str = "desktop") -> None:
        """Raise ``ProfileNotFoundError`` unless tabs can use the profile ``name`` (the
        default profiles are created on first use), or a ``ValidationError`` when it is not
        a ``device`` profile."""
        self._guard.check_device(name, device).get()

    def _check_target(self, url: str | None, field: str) -> None:
        """The URL text check of the egress policy (``tab:create`` makes it too)."""
        if url:
            rules.require_public_target(url, self._engine.egress.policy, field)

    def close_all(self, reason: str) -> None:
        """Close every tab, parked search tabs too (runtime shutdown)."""
        for key in list(self._tabs):
            self._forget(key, reason=reason)
        self._close_parked(lambda _warm: True, reason)

    def suspend_all(self) -> int:
        """Close every tab's context without recording a close: the tabs stay open on
        record and the next host start resumes them. Returns how many were suspended
        (parked search tabs are closed on record: a search tab is never resumed)."""
        self._close_parked(lambda _warm: True, "the host stopped")
        count = 0
        for key in list(self._tabs):
            actor = self._tabs.pop(key)
            self._planner.release(self._routes.pop(key, None))
            if actor.actor_ref.is_alive():
                actor.actor_ref.stop()  # on_stop closes the context, records nothing
                count += 1
        return count

    def resume(self, tab_id: str, profile_id: str, proxy_id: str | None,
               url: str | None) -> dict[str, Any]:
        """Reopen a tab that is open on record (after a restart or a crash of the host):
        same id, profile and proxy (the engine picks another if that proxy is gone), and
        its last URL loaded again (``restore``)."""
        key = str(UUID(tab_id))
        if key in self._tabs:
            result: dict[str, Any] = self._tabs[key].info().get()
            return result
        profile = self._profile_name(profile_id)
        try:
            route = self._planner.route(proxy_id or "direct", url, None, key)
        except ProxyNotFoundError:
            route = self._planner.route("auto", url, None, key)
        actor, setup = self._start_tab(UUID(key), profile, route)
        try:
            info: dict[str, Any] = actor.open(None, None, route.reason, existing=True).get()
            self._check_target(url, "url")  # stored before the policy changed, say
            if route.proxy_id != proxy_id:  # reassigning reloads the page too
                actor.assign_proxy(setup, route.proxy_id, "previous proxy is gone").get()
                info = actor.info().get()
            elif url:
                info = actor.restore().get()
        except BaseException:
            self._forget(key, reason="could not be resumed")
            raise
        return info

    def on_stop(self) -> None:
        """Tabs and fetch sessions do not outlive the supervisor (tabs unless suspended
        first)."""
        if self._sweep is not None:
            self._sweep.cancel()
        self.close_all("runtime stopped")
        for key in list(self._tickets):
            self.release(key)
        try:
            self._planner.fetcher.close()
        except Exception:
            log.debug("closing the fetch sessions failed", exc_info=True)
