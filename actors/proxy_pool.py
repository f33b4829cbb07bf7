"""``ProxyPoolActor``: adds proxies, routes per-proxy commands to ``ProxyActor``s, owns the
rotation config and the lifecycle of data keys (created on add, destroyed on removal).
"""

from __future__ import annotations

import logging
from uuid import UUID, uuid4

import pykka

from actors.base import VipbActor, proxy_of
from actors.endpoint_index import EndpointIndex
from actors.generation import Generation
from actors.proxy_actor import ProxyActor, endpoint_of
from actors.rotation_actor import CandidateBox, RotationActor, candidate_of
from actors.writer import COMMIT_TIMEOUT, EventWriter
from adapters.proxycheck import ProxyEndpoint
from adapters.secrets import DataKeyStore
from adapters.store import topics_of
from domain.commands import AddProxy, RemoveProxy, SetRotation
from domain.errors import ConcurrencyError, ProxyNotFoundError
from domain.events import events_of
from domain.ids import as_uuid
from domain.proxy import Proxy
from domain.results import Ack
from domain.rotation_config import ROTATION_CONFIG_ID, RotationConfig

log = logging.getLogger(__name__)
MAX_LIVE_PROXY_ACTORS = 512

_ADDED, _REMOVED = events_of(Proxy, "ProxyAdded", "ProxyRemoved")


class ProxyPoolActor(VipbActor):
    """The pool: which proxies exist, and the entry point for adding and removing them."""

    def __init__(self, writer: EventWriter, index: EndpointIndex, keystore: DataKeyStore,
                 max_live_actors: int = MAX_LIVE_PROXY_ACTORS) -> None:
        super().__init__()
        self._max_live = max_live_actors
        self._writer = writer
        self._index = index
        self._keys = keystore
        self._live: set[UUID] = set()
        # ActorProxy objects are cached: building one introspects the actor (~0.3 ms).
        # Insertion order is recency: the least recently used actor is stopped first.
        self._actors: dict[UUID, pykka.ActorProxy[ProxyActor]] = {}
        self._rotation: pykka.ActorProxy[RotationActor] | None = None
        self._changes: CandidateBox | None = None
        # bumped when any proxy may have changed: its actor's updates, removals, reloads,
        # and changes recorded by another host (see ``endpoint_changes``)
        self._endpoints = Generation()

    def endpoint_changes(self) -> Generation:
        """What a caller caching proxies' endpoints watches: an endpoint read at one value
        holds while the value stays."""
        return self._endpoints

    def attach_rotation(self, rotation: pykka.ActorProxy[RotationActor],
                        changes: CandidateBox) -> None:
        """Keep the rotation engine informed of adds, removals, updates and strategy changes."""
        self._rotation = rotation
        self._changes = changes
        for actor in self._actors.values():
            actor.attach_rotation(changes)

    def on_start(self) -> None:
        """Find live proxies from event topics alone (no decryption) and finish shreddings
        that a crash interrupted between the removal commit and the key deletion.
        """
        added = set(topics_of([_ADDED]))
        removed: set[UUID] = set()
        for note in self._writer.log.scan([_ADDED, _REMOVED]):  # one pass over the log
            (self._live if note.topic in added else removed).add(as_uuid(note.originator_id))
        self._live -= removed
        for proxy_id in removed:
            if self._keys.get(proxy_id) is not None:
                log.warning("finishing interrupted shredding of proxy %s", proxy_id)
                self._keys.destroy(proxy_id)

    def on_stop(self) -> None:
        """Stop every proxy actor."""
        for actor in self._actors.values():
            actor.actor_ref.stop()

    def proxy_ids(self) -> list[str]:
        """Ids of every live proxy."""
        return sorted(str(i) for i in self._live)

    def add(self, command: AddProxy) -> Ack:
        """Create the proxy with a fresh data key, claim its endpoint, commit both together.

        Losing a race for the endpoint to another writer shows up as a conflict; the retry
        then sees the winner's claim and reports a duplicate.
        """
        try:
            return self._add(command)
        except ConcurrencyError:
            return self._add(command)

    def _add(self, command: AddProxy) -> Ack:
        username = command.username.get_secret_value() if command.username else None
        password = command.password.get_secret_value() if command.password else None
        proxy_id = uuid4()
        key = self._index.key(command.protocol.value, command.host, command.port, username)
        claim = self._index.claim(key, proxy_id, command.endpoint())
        proxy = Proxy(
            id=proxy_id,
            protocol=command.protocol.value,
            host=command.host,
            port=command.port,
            username=username,
            password=password,
            label=command.label,
            country=command.country,
            weight=command.weight,
            max_concurrency=command.max_concurrency,
            tags=list(command.tags),
            region=command.region,
        )
        self._keys.create(proxy_id)
        try:
            ids = self._writer.save(proxy, claim)
        except BaseException:
            self._keys.destroy(proxy_id)
            raise
        self._live.add(proxy_id)
        if len(self._actors) < self._max_live:  # else started on first use (bulk imports)
            self._actors[proxy_id] = ProxyActor.start(
                proxy_id, self._writer, self._index, proxy, self._changes, self._endpoints
            ).proxy()
        if self._rotation is not None:
            self._rotation.proxy_changed(candidate_of(proxy))
        return Ack(id=str(proxy_id), position=ids[-1])

    def actor_for(self, proxy_id: UUID) -> pykka.ActorProxy[ProxyActor]:
        """The proxy's actor (started on first use); raises if the proxy does not exist."""
        if proxy_id not in self._live:
            raise ProxyNotFoundError(str(proxy_id))
        actor = self._actors.pop(proxy_id, None)
        if actor is None or not actor.actor_ref.is_alive():
            self._make_room()
            ref = ProxyActor.start(proxy_id, self._writer, self._index, None, self._changes,
                                   self._endpoints)
            actor = proxy_of(ref)
        self._actors[proxy_id] = actor  # now the most recently used
        return actor

    def _make_room(self) -> None:
        """Stop least recently used proxy actors beyond the cap: an actor is a thread, and a
        host that touches 100,000 proxies over months must not keep 100,000 threads. A
        stopped actor finishes its queued messages and waits for its last commit first; the
        next command for that proxy starts a fresh one from the store."""
        while len(self._actors) >= self._max_live:
            oldest = next(iter(self._actors))
            actor = self._actors.pop(oldest)
            if actor.actor_ref.is_alive():
                actor.actor_ref.stop(block=True, timeout=COMMIT_TIMEOUT)

    def endpoints_for(self, proxy_ids: list[UUID],
                      skip_removed: bool = False) -> dict[str, ProxyEndpoint]:
        """How to reach each proxy (credentials in memory only), without starting an actor
        (and its thread) per proxy: a running actor is asked, the others are read from the
        store here. Validating a pool of 100,000 proxies must not start 100,000 threads.
        A removed proxy raises ``ProxyNotFoundError``, or is left out with ``skip_removed``."""
        if skip_removed:
            proxy_ids = [i for i in proxy_ids if i in self._live]
        asked = {i: self._actors[i].endpoint() for i in proxy_ids
                 if i in self._actors and self._actors[i].actor_ref.is_alive()}
        endpoints: dict[str, ProxyEndpoint] = {}
        for proxy_id in proxy_ids:
            if proxy_id not in self._live:
                raise ProxyNotFoundError(str(proxy_id))
            if proxy_id in asked:
                continue
            proxy = self._writer.load(Proxy, proxy_id)
            if proxy is None:
                raise ProxyNotFoundError(str(proxy_id))
            endpoints[str(proxy_id)] = endpoint_of(proxy)
        for proxy_id, future in asked.items():
            endpoints[str(proxy_id)] = future.get()
        return endpoints

    def remove(self, command: RemoveProxy) -> Ack:
        """Record the removal, then destroy the data key: credentials are unreadable from now."""
        ack: Ack = self.actor_for(command.proxy_id).remove(command).get()  # (it bumps)
        self._keys.destroy(command.proxy_id)
        self._live.discard(command.proxy_id)
        if self._rotation is not None:
            self._rotation.proxy_removed(str(command.proxy_id))
        actor = self._actors.pop(command.proxy_id, None)
        if actor is not None:
            actor.actor_ref.stop()
        return ack

    def recorded(self, proxy_id: UUID, version: int) -> None:
        """A change of the proxy up to ``version`` is on record, maybe by another host
        sharing the store: a cached actor holding an older version is dropped (the next
        command reloads it), and the pool, the rotation engine and the key cache follow."""
        self._endpoints.bump()
        actor = self._actors.get(proxy_id)
        if actor is not None and (not actor.actor_ref.is_alive()
                                  or actor.version().get(timeout=COMMIT_TIMEOUT) < version):
            self._actors.pop(proxy_id, None)
            actor.actor_ref.stop()
        proxy = self._writer.load(Proxy, proxy_id)
        if proxy is None or proxy.removed:
            if proxy_id in self._live:
                self._live.discard(proxy_id)
                self._keys.evict(proxy_id)  # destroyed by the host that removed it
                if self._rotation is not None:
                    self._rotation.proxy_removed(str(proxy_id))
            return
        self._live.add(proxy_id)
        if self._rotation is not None:
            self._rotation.proxy_changed(candidate_of(proxy))

    def set_rotation(self, command: SetRotation) -> Ack:
        """Create or change the rotation config."""
        params = dict(command.params)
        config = self._writer.load(RotationConfig, ROTATION_CONFIG_ID)
        if config is None:
            config = RotationConfig(strategy=command.strategy.value, params=params)
        else:
            config.set_strategy(command.strategy.value, params)
        ids = self._writer.save(config)
        if ids and self._rotation is not None:
            self._rotation.configure(command.strategy.value, params)
        return Ack.of(ROTATION_CONFIG_ID, ids)
