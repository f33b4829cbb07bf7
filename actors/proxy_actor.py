"""``ProxyActor``: owns one ``Proxy`` aggregate; applies updates and removal to it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pykka

from actors.base import ClosableInbox, VipbActor
from actors.endpoint_index import EndpointIndex
from actors.generation import Generation
from actors.rotation_actor import CandidateBox, candidate_of
from actors.writer import COMMIT_TIMEOUT, EventWriter
from adapters.proxycheck import ProxyEndpoint
from adapters.store import Pending
from domain.commands import RemoveProxy, UpdateProxy
from domain.errors import ConcurrencyError, ProxyNotFoundError
from domain.proxy import Proxy
from domain.results import Ack

log = logging.getLogger(__name__)

# Fields whose change moves the proxy to another endpoint key (and claim).
ENDPOINT_FIELDS = frozenset({"protocol", "host", "port", "username", "clear_credentials"})
# Fields the rotation engine selects on.
SELECTION_FIELDS = frozenset({"weight", "country", "region", "tags", "max_concurrency"})


def endpoint_of(proxy: Proxy) -> ProxyEndpoint:
    """How to reach ``proxy``, credentials included (in memory only)."""
    return ProxyEndpoint(str(proxy.id), proxy.protocol, proxy.host, proxy.port,
                         proxy.username, proxy.password)


@dataclass(frozen=True)
class UpdateRequest:
    """An update told to a ``ProxyActor``; the committer resolves ``reply`` directly."""

    command: UpdateProxy
    reply: Pending


class ProxyActor(VipbActor):
    """One actor per proxy, started on demand by the pool; its mailbox serialises changes."""

    def __init__(
        self,
        proxy_id: UUID,
        writer: EventWriter,
        index: EndpointIndex,
        preloaded: Proxy | None = None,
        changes: CandidateBox | None = None,
        endpoints: Generation | None = None,
    ) -> None:
        """``endpoints``: bumped whenever this actor's proxy may have changed (an update,
        a removal, a reload), for those who cache endpoints."""
        super().__init__()
        self._changes = changes
        self._endpoints = endpoints
        self._id = proxy_id
        self._writer = writer
        self._index = index
        self._proxy: Proxy | None = preloaded
        self._inflight: Pending | None = None

    def on_start(self) -> None:
        """Load the aggregate in the actor's own thread unless it was handed over."""
        if self._proxy is None:
            try:
                self._reload()
            except BaseException:
                self._refuse_queued()
                raise

    @staticmethod
    def _create_actor_inbox() -> Any:
        return ClosableInbox()

    def _refuse_queued(self) -> None:
        """pykka drops told messages left in a stopping actor's inbox; here the inbox is
        closed (later sends fail at once) and every update left in it is answered with
        ``ActorDeadError``, so its sender re-sends it to the proxy's next actor (the pool
        stops least recently used actors). Asks and stops stay queued for pykka, which
        answers them as it does for every actor."""
        dead = f"the actor of proxy {self._id} stopped before handling the message"
        inbox = self.actor_inbox
        assert isinstance(inbox, ClosableInbox)
        for envelope in inbox.close(lambda e: isinstance(e.message, UpdateRequest)):
            envelope.message.reply.set_exception(pykka.ActorDeadError(dead))

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Dying of an exception: answer the queued updates, then report the death."""
        self._refuse_queued()
        super().on_failure(exception_type, exception_value, traceback)

    def on_stop(self) -> None:
        """Answer the queued updates, and leave only after the last submission is committed
        (or failed): a successor for this proxy then loads a store that already holds it."""
        self._refuse_queued()
        previous, self._inflight = self._inflight, None
        if previous is not None:
            with contextlib.suppress(Exception):
                previous.result(COMMIT_TIMEOUT)

    def _reload(self) -> Proxy:
        self._changed()
        proxy = self._writer.load(Proxy, self._id)
        if proxy is None or proxy.removed:
            raise ProxyNotFoundError(str(self._id))
        self._proxy = proxy
        return proxy

    def _changed(self) -> None:
        if self._endpoints is not None:
            self._endpoints.bump()

    def version(self) -> int:
        """The version of the proxy as this actor holds it (0: not loaded)."""
        return self._proxy.version if self._proxy is not None else 0

    def attach_rotation(self, changes: CandidateBox) -> None:
        """Offer later selection-relevant changes of this proxy to the rotation engine."""
        self._changes = changes

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

    def on_receive(self, message: object) -> None:
        """Told messages: an ``UpdateRequest`` whose reply handle the committer resolves.

        The hot path: no reply future and no wake-up of this actor after the commit. Never
        raises (an exception in a told message would stop the actor): errors go to the reply.
        """
        if isinstance(message, UpdateRequest):
            self._apply_update(message)
        else:
            log.warning("proxy actor ignored %r", type(message).__name__)

    def _apply_update(self, request: UpdateRequest) -> None:
        try:
            self._await_previous()
            self._update(self._current(), request.command, request.reply)
            self._inflight = request.reply
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                self._reload()  # drop the half-applied pending events
            request.reply.set_exception(exc)
        finally:
            self._changed()

    def _await_previous(self) -> None:
        """Never build on an event whose commit is still open or failed: wait for the
        previous submission (already done when its caller waited for it) and reload
        after a failure, so versions can never leave a gap."""
        previous, self._inflight = self._inflight, None
        if previous is not None:
            try:
                previous.result(COMMIT_TIMEOUT)
            except Exception:
                self._reload()

    def _update(self, proxy: Proxy, command: UpdateProxy, reply: Pending) -> None:
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
        if SELECTION_FIELDS & changes.keys() and self._changes is not None:
            candidate, box = candidate_of(proxy), self._changes
            reply.then = lambda: box.put(candidate)  # only once the change is durable
        self._writer.submit(reply, proxy, *claims)

    def endpoint(self) -> ProxyEndpoint:
        """How to reach the proxy, credentials included (in memory only)."""
        return endpoint_of(self._current())

    def country(self) -> str | None:
        """The proxy's country (locale and time zone of profiles that follow it)."""
        country: str | None = self._current().country
        return country

    def remove(self, command: RemoveProxy) -> Ack:
        """Record the removal and release the endpoint (the pool then destroys the data key)."""
        self._await_previous()
        try:
            return self._retrying(lambda proxy: self._remove(proxy))
        finally:
            self._changed()

    def _remove(self, proxy: Proxy) -> Ack:
        proxy.remove(reason="removed by user")
        ids = self._writer.save(proxy, self._index.release(self._key(proxy)))
        return Ack(id=str(proxy.id), position=ids[-1])

    def _key(self, proxy: Proxy) -> str:
        return self._index.key(proxy.protocol, proxy.host, proxy.port, proxy.username)
