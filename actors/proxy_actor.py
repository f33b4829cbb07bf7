"""``ProxyActor``: owns one ``Proxy`` aggregate; applies updates and removal to it."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.endpoint_index import EndpointIndex
from actors.rotation_actor import RotationActor, candidate_of
from actors.writer import EventWriter
from adapters.proxycheck import ProxyEndpoint
from domain.commands import RemoveProxy, UpdateProxy
from domain.errors import ConcurrencyError, ProxyNotFoundError
from domain.proxy import Proxy
from domain.results import Ack

# Fields whose change moves the proxy to another endpoint key (and claim).
ENDPOINT_FIELDS = frozenset({"protocol", "host", "port", "username", "clear_credentials"})
# Fields the rotation engine selects on.
SELECTION_FIELDS = frozenset({"weight", "country", "region", "tags", "max_concurrency"})


class ProxyActor(VipbActor):
    """One actor per proxy, started on demand by the pool; its mailbox serialises changes."""

    def __init__(
        self,
        proxy_id: UUID,
        writer: EventWriter,
        index: EndpointIndex,
        preloaded: Proxy | None = None,
        rotation: pykka.ActorProxy[RotationActor] | None = None,
    ) -> None:
        super().__init__()
        self._rotation = rotation
        self._id = proxy_id
        self._writer = writer
        self._index = index
        self._proxy: Proxy | None = preloaded

    def on_start(self) -> None:
        """Load the aggregate in the actor's own thread unless it was handed over."""
        if self._proxy is None:
            self._reload()

    def _reload(self) -> Proxy:
        proxy = self._writer.load(Proxy, self._id)
        if proxy is None or proxy.removed:
            raise ProxyNotFoundError(str(self._id))
        self._proxy = proxy
        return proxy

    def attach_rotation(self, rotation: pykka.ActorProxy[RotationActor]) -> None:
        """Tell ``rotation`` about later changes of this proxy."""
        self._rotation = rotation

    def _tell_rotation(self, proxy: Proxy) -> None:
        if self._rotation is not None and not proxy.removed:
            # a plain tell: no reply future on this hot path (see RotationActor.on_receive)
            self._rotation.actor_ref.tell(candidate_of(proxy))

    def _current(self) -> Proxy:
        if self._proxy is None or self._proxy.removed:
            raise ProxyNotFoundError(str(self._id))
        return self._proxy

    def _retrying(self, attempt: Callable[[Proxy], Ack]) -> Ack:
        """Run ``attempt``; after a conflict, reload once and run it again."""
        try:
            return attempt(self._current())
        except ConcurrencyError:
            return attempt(self._reload())
        except BaseException:
            self._reload()  # drop the half-applied pending events
            raise

    def update(self, command: UpdateProxy) -> Ack:
        """Apply ``command``; moving to another endpoint re-claims it in the same commit."""
        return self._retrying(lambda proxy: self._update(proxy, command))

    def _update(self, proxy: Proxy, command: UpdateProxy) -> Ack:
        moves = bool(ENDPOINT_FIELDS & command.model_fields_set)
        old_key = self._key(proxy) if moves else ""
        credentials: tuple[str | None, str | None] | None = None
        if command.clear_credentials:
            credentials = (None, None)
        elif command.username is not None:
            password = command.password.get_secret_value() if command.password else None
            credentials = (command.username.get_secret_value(), password)
        elif command.password is not None:
            credentials = (proxy.username, command.password.get_secret_value())
        changes = command.plain_changes()
        proxy.update(changes, credentials)
        claims = []
        if moves and (new_key := self._key(proxy)) != old_key:
            claims = [self._index.release(old_key), self._index.claim(new_key, proxy.id,
                                                                      proxy.endpoint())]
        ids = self._writer.save(proxy, *claims)
        if ids and SELECTION_FIELDS & changes.keys():
            self._tell_rotation(proxy)
        return Ack(id=str(proxy.id), position=ids[-1] if ids else 0, changed=bool(ids))

    def endpoint(self) -> ProxyEndpoint:
        """How to reach the proxy, credentials included (in memory only)."""
        p = self._current()
        return ProxyEndpoint(str(p.id), p.protocol, p.host, p.port, p.username, p.password)

    def remove(self, command: RemoveProxy) -> Ack:
        """Record the removal and release the endpoint (the pool then destroys the data key)."""
        return self._retrying(lambda proxy: self._remove(proxy))

    def _remove(self, proxy: Proxy) -> Ack:
        proxy.remove(reason="removed by user")
        ids = self._writer.save(proxy, self._index.release(self._key(proxy)))
        return Ack(id=str(proxy.id), position=ids[-1])

    def _key(self, proxy: Proxy) -> str:
        return self._index.key(proxy.protocol, proxy.host, proxy.port, proxy.username)
