"""What handlers keep at hand between commands: actors of recently used proxies and tabs,
and proxy endpoints for validation (one set per runtime, in ``Deps``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

import pykka

from actors.proxy_actor import ProxyActor
from actors.proxy_pool import ProxyPoolActor
from actors.tab_actor import TabActor
from actors.tab_supervisor import TabSupervisorActor
from adapters.proxycheck import ProxyEndpoint

TIMEOUT = 300.0  # seconds a handler waits on an actor's reply
MAX_CACHED_TABS = 10_000


class ProxyHandles:
    """Proxy actors of recently updated proxies (one actor hop per update instead of two)
    and endpoints for validation, both as stale as the proxy actor's own state and no more.

    Request workers of the control socket call in from many threads: both caches are read
    and changed under one lock, never while waiting on an actor.
    """

    def __init__(self, pool: pykka.ActorProxy[ProxyPoolActor], max_actors: int) -> None:
        self._pool = pool
        self.max_actors = max_actors  # no more than the pool keeps alive anyway
        self._lock = threading.Lock()
        self._actors: OrderedDict[UUID, pykka.ActorProxy[ProxyActor]] = OrderedDict()
        # ``_epoch`` counts the drops, so an endpoint fetched before a drop is not cached
        # after it
        self._endpoints: dict[str, ProxyEndpoint] = {}
        self._epoch = 0

    def forget(self, proxy_id: UUID, actor: bool = False) -> None:
        """Drop the cached endpoint (and, if asked, the cached actor) of a proxy."""
        with self._lock:
            self._endpoints.pop(str(proxy_id), None)
            self._epoch += 1
            if actor:
                self._actors.pop(proxy_id, None)

    def cached_actors(self) -> int:
        """How many proxy actors are at hand (at most ``max_actors``)."""
        with self._lock:
            return len(self._actors)

    def actor(self, proxy_id: UUID, fresh: bool) -> pykka.ActorProxy[ProxyActor]:
        """The proxy's actor: the cached one if alive (unless ``fresh``), else the pool's."""
        with self._lock:
            actor = None if fresh else self._actors.get(proxy_id)
            if actor is not None and actor.actor_ref.is_alive():
                self._actors.move_to_end(proxy_id)
                return actor
        started: pykka.ActorProxy[ProxyActor] = self._pool.actor_for(proxy_id).get()
        with self._lock:  # (the pool is asked outside the lock: that waits on its actor)
            self._actors[proxy_id] = started
            self._actors.move_to_end(proxy_id)
            while len(self._actors) > self.max_actors:
                self._actors.popitem(last=False)
        return started

    def endpoints(self, ids: list[UUID], skip_removed: bool) -> list[ProxyEndpoint]:
        """The endpoints of ``ids`` (cached or from the pool), in that order."""
        with self._lock:
            epoch = self._epoch
            found = {key: e for i in ids if (e := self._endpoints.get(key := str(i)))}
        missing = [i for i in ids if str(i) not in found]
        if missing:
            fetched: dict[str, ProxyEndpoint] = self._pool.endpoints_for(
                missing, skip_removed).get()
            found.update(fetched)
            with self._lock:
                if self._epoch == epoch:  # nothing was updated or removed meanwhile
                    self._endpoints.update(fetched)
        return [found[str(i)] for i in ids if str(i) in found]


class TabHandles:
    """Tab actors by id: a command for one tab asks its own actor, not the supervisor."""

    def __init__(self, tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]]) -> None:
        self._tabs = tabs
        self._lock = threading.Lock()
        self._actors: dict[str, pykka.ActorProxy[TabActor]] = {}

    def actor(self, tab_id: str) -> pykka.ActorProxy[TabActor]:
        """The tab's actor (``ValidationError`` from the supervisor when there is none)."""
        with self._lock:
            actor = self._actors.get(tab_id)
        if actor is None or not actor.actor_ref.is_alive():
            actor = self._tabs().tab(tab_id).get(timeout=TIMEOUT)
            with self._lock:
                if len(self._actors) > MAX_CACHED_TABS:
                    self._actors.clear()
                self._actors[tab_id] = actor
        return actor
