"""The ``RoutePlanner``: the proxy a tab or a search goes through (its ``Route``: picked by
the rotation engine, or named), and the privacy profile set up behind it, worked out in
the thread that asks.

Tabs get theirs through the ``TabSupervisorActor``. A search's worker makes its own
``Ticket`` here and tells the supervisor to hold it (``TabSupervisorActor.hold``): asking
the supervisor to make it cost a search two more thread hand-offs, and a search waited
behind another's pick while the supervisor waited for the rotation engine (a wall-clock
profile of the HTTP tier had the route at a third of a search's time, nearly all of it
waiting for a thread to run). The planner keeps no route: only answers that stay true
until a generation moves (a proxy's endpoint, a profile's setup), behind one lock that
is never held while an actor is asked."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

import pykka

from actors.generation import Cached
from actors.privacy_guard import PrivacyGuardActor
from actors.proxy_actor import ProxyActor
from actors.proxy_pool import ProxyPoolActor
from actors.rotation_actor import RotationActor
from adapters.browser import BrowserEngine, ProxyRoute, TabSetup
from adapters.pagefetch import PageFetcher
from adapters.proxycheck import ProxyEndpoint
from domain.endpoints import host_port
from domain.errors import ValidationError
from domain.selection import NoProxyAvailableError, NoProxyInCountryError, SelectionContext

PICKED_ACTORS = 1024  # proxy actors remembered by id (then forgotten all at once)
CACHED_SETUPS = 256
_SetupKey = tuple[str, str, ProxyRoute | None, str | None]  # profile, version, route, country


@dataclass(frozen=True)
class Route:
    """A tab's proxy decision, and where it leaves from (``exit_country``, known from a
    validation, the proxy's declaration, this host's configured country, or not at all:
    ``exit_basis``)."""

    proxy_id: str | None
    route: ProxyRoute | None
    country: str | None
    reason: str
    selected: bool  # counted as in use by the rotation engine: release when done
    exit_country: str | None = None
    exit_basis: str = "unknown"


@dataclass(frozen=True)
class Ticket:
    """A route picked and a profile set up for a search, before any tab: its pages are
    fetched over HTTP (``PageFetcher``), or a tab is started behind it (``tab_on``).
    ``key``: the id the route is held under (and the tab's id, if one is started); release
    it with ``release`` when no tab was started."""

    key: str
    profile_id: str
    setup: TabSetup
    route: Route
    fetcher: PageFetcher  # the HTTP tier's (fetches run in the thread that asks)
    one_off: bool = False  # a fresh profile for one search: its tab is never kept

    @property
    def proxy_id(self) -> str | None:
        """The proxy it goes through (None: direct)."""
        return self.route.proxy_id

    @property
    def session(self) -> str:
        """The key of the HTTP session its pages are fetched in (one per profile and
        route)."""
        return f"{self.profile_id}/{self.proxy_id or 'direct'}"


class RoutePlanner:
    """Routes and setups (see the module docstring); thread-safe."""

    def __init__(self, engine: BrowserEngine, guard: pykka.ActorProxy[PrivacyGuardActor],
                 pool: pykka.ActorProxy[ProxyPoolActor],
                 rotation: pykka.ActorProxy[RotationActor] | None,
                 direct_country: str | None = None, timeout: float = 30.0) -> None:
        """``direct_country``: where this host's own connection leaves from (direct tabs),
        as configured (``VIPB_DIRECT_COUNTRY``); None: not known."""
        self._engine = engine
        self._guard = guard
        self._pool = pool
        self._rotation = rotation
        self._direct_country = direct_country
        self.fetcher = PageFetcher(engine.egress, engine.submit, timeout=timeout)
        self._lock = threading.Lock()
        # the actors of proxies the rotation engine picked, by id: a pick names a live
        # proxy, so its actor (while it runs) is asked for directly, not through the pool
        self._picked: dict[str, pykka.ActorProxy[ProxyActor]] = {}
        # tab setups by profile, engine version, route and country, kept while the guard
        # changes no profile (None: it says not to keep them); endpoints of picked
        # proxies, kept while the pool's proxies do not change (both made on first use)
        self._setups: Cached[_SetupKey, tuple[str, TabSetup]] | None = None
        self._setups_asked = False
        self._endpoints: Cached[str, ProxyEndpoint] | None = None

    def ticket(self, url: str | None, profile: str, proxy: str, country: str | None,
               avoid: tuple[str, ...] = (), fresh: str | None = None,
               require: str | None = None, shun: tuple[str, ...] = ()) -> Ticket:
        """A search's route and profile: ``route``'s arguments, and ``fresh`` a device
        (desktop/mobile) for a one-off profile instead of ``profile``. Its proxy is in use
        until the supervisor that holds the ticket releases it."""
        key = str(uuid.uuid4())
        route = self.route(proxy, url, country, key, avoid, require, shun)
        try:
            profile_id, setup = self.setup(profile, route, fresh)
        except BaseException:
            self.release(route)
            raise
        return Ticket(key, profile_id, setup, route, self.fetcher, one_off=fresh is not None)

    def route(self, choice: str, url: str | None, country: str | None,
              tab_id: str, avoid: tuple[str, ...] = (), require: str | None = None,
              shun: tuple[str, ...] = ()) -> Route:
        """The proxy of a tab: ``choice`` (auto, a proxy id, direct); ``country`` a
        preference for the pick, ``require`` a requirement (a search's country:
        ``NoProxyInCountryError`` when nothing leaves from there); the pick passes over
        ``avoid`` always and ``shun`` while another proxy is available."""
        if choice == "direct":
            return self._direct(require)
        selected = choice == "auto"
        if selected:
            if self._rotation is None:
                raise ValidationError("this runtime has no rotation engine", field="proxy")
            host = urlsplit(url).hostname if url else None
            ctx = SelectionContext(url=url, domain=host, country=require or country,
                                   tab_id=tab_id)
            try:
                pick = self._rotation.pick(ctx, avoid, require, shun).get()
            except NoProxyInCountryError:
                raise
            except NoProxyAvailableError as exc:
                other = " other than the one already used" if avoid else ""
                raise ValidationError(
                    f"{str(exc).rstrip('.')}{other}; add proxies or pass proxy=direct",
                    field="proxy") from None
            selection = pick.selection
            proxy_id, reason = selection.proxy_id, f"{selection.strategy}: {selection.reason}"
        else:
            proxy_id, reason = choice, "chosen by request"
        endpoint = self._endpoint(proxy_id, selected)
        local = self._local_proxy(endpoint)
        if local is not None:
            if selected and self._rotation is not None:
                self._rotation.release(proxy_id).get()
            raise ValidationError(local, field="proxy")
        route = ProxyRoute(endpoint.protocol, endpoint.host, endpoint.port, endpoint.username,
                           endpoint.password)
        if selected:  # the rotation engine said with its pick
            declared, exit_country, basis = pick.declared, pick.exit_country, pick.exit_basis
        else:
            declared = self._proxy_actor(proxy_id, selected).country().get()
            exit_country, basis = (declared, "declared" if declared else "unknown")
            if self._rotation is not None:
                exit_country, basis = self._rotation.exit_of(str(UUID(proxy_id))).get()
        if require is not None and not selected and (declared != require
                                                     or exit_country != require):
            seen = f", seen leaving from {exit_country}" if basis == "validated" else ""
            raise NoProxyInCountryError(
                f"proxy {proxy_id} is in {declared or 'no declared country'}{seen}, not in "
                f"{require}: pick a proxy there, or allow any exit country", require,
                permanent=True)
        return Route(str(UUID(proxy_id)), route, declared, reason, selected,
                     exit_country=exit_country, exit_basis=basis)

    def _direct(self, require: str | None) -> Route:
        direct = self._direct_country
        if require is not None and direct != require:
            here = f"leaves from {direct}" if direct else \
                "leaves from a country vipb does not know (VIPB_DIRECT_COUNTRY unset)"
            raise NoProxyInCountryError(
                f"a direct search {here}, not from {require}: search through a proxy in "
                f"{require}, or allow any exit country", require, permanent=True)
        return Route(None, None, None, "direct by request", selected=False,
                     exit_country=direct, exit_basis="direct" if direct else "unknown")

    def _endpoint(self, proxy_id: str, picked: bool) -> ProxyEndpoint:
        """How to reach a proxy: a picked one's as last read, while no proxy changed since
        (the pool's ``endpoint_changes``; a round trip through its actor per search
        before), else its actor's answer."""
        def ask() -> ProxyEndpoint:
            endpoint: ProxyEndpoint = self._proxy_actor(proxy_id, picked).endpoint().get()
            return endpoint

        if not picked:
            return ask()
        endpoints = self._endpoints
        if endpoints is None:
            changes = self._pool.endpoint_changes().get()
            with self._lock:
                endpoints = self._endpoints = self._endpoints or Cached(changes, PICKED_ACTORS)
        return endpoints.get(proxy_id, ask)

    def _proxy_actor(self, proxy_id: str, picked: bool) -> pykka.ActorProxy[ProxyActor]:
        """A proxy's actor: the pool's answer (which refuses a proxy that is gone), or for
        a proxy the rotation engine just picked the one it gave before while that one runs
        (one trip through the pool less per search; the pool stops idle actors beyond its
        cap, and then it is asked again)."""
        known = self._picked.get(proxy_id) if picked else None
        if known is not None and known.actor_ref.is_alive():
            return known
        actor: pykka.ActorProxy[ProxyActor] = self._pool.actor_for(UUID(proxy_id)).get()
        if picked:
            with self._lock:
                if len(self._picked) >= PICKED_ACTORS:
                    self._picked.clear()
                self._picked[proxy_id] = actor
        return actor

    def _local_proxy(self, endpoint: ProxyEndpoint) -> str | None:
        """Why a tab may not go through this proxy: one on a loopback, private or link-local
        address reaches this machine's (or network's) services for any page loaded through
        it, so it is treated as a direct connection: refused unless the egress rule allows
        its address (``VIPB_EGRESS_ALLOW``, or private targets allowed)."""
        try:
            reason = self._engine.egress.policy.refuse_host(endpoint.host, endpoint.port)
        except ValueError:
            return None  # a name: resolved by Chromium, as a public proxy's is
        if reason is None:
            return None
        where = host_port(endpoint.host, endpoint.port)
        return (f"proxy {where}: {reason}, so pages behind it could reach this machine's or "
                f"network's services; allow it with VIPB_EGRESS_ALLOW='[\"{where}\"]' (tabs "
                "behind it then reach what it reaches), or use another proxy")

    def release(self, route: Route | None) -> None:
        """Give a picked proxy back to the rotation engine: told, not waited for (it takes
        its messages in order, so a pick asked after this finds the proxy free; waiting was
        a sixth of the supervisor's time under an HTTP-tier run)."""
        if route is not None and route.selected and route.proxy_id and self._rotation:
            self._rotation.release(route.proxy_id)

    def outcome(self, proxy_id: str, ok: bool, latency_ms: float | None) -> None:
        """A load through ``proxy_id`` worked or failed: told to the rotation engine."""
        if self._rotation is not None:
            self._rotation.report(proxy_id, ok, latency_ms)  # told: never block a tab

    def setup(self, profile: str, route: Route,
              fresh: str | None = None) -> tuple[str, TabSetup]:
        """(profile id, setup) of ``profile`` behind ``route`` (``fresh``: a one-off
        profile of that device instead)."""
        located = self._engine.chromium  # found once (not a trip to the browser loop then)
        version = located.version if located is not None else \
            self._engine.run(self._engine_version())
        if fresh is not None:
            result: tuple[str, TabSetup] = self._guard.fresh_setup(
                fresh, version, route.route, route.country).get()
            return result

        def ask() -> tuple[str, TabSetup]:
            setup: tuple[str, TabSetup] = self._guard.tab_setup(
                profile, version, route.route, route.country).get()
            return setup

        # a profile's setup behind a route is the same until the guard changes a profile:
        # asked again only then (a round trip through the guard per search before)
        if not self._setups_asked:
            changes = self._guard.changes().get()
            with self._lock:
                if not self._setups_asked:
                    self._setups = Cached(changes, CACHED_SETUPS) if changes is not None \
                        else None
                    self._setups_asked = True
        setups = self._setups
        if setups is None:
            return ask()
        return setups.get((profile.casefold(), version, route.route, route.country), ask)

    async def _engine_version(self) -> str:
        return (await self._engine.locate()).version

