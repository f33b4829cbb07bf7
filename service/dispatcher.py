"""The dispatcher: one entry point for every channel of the command registry, used by the CLI
in process and by the host's control socket alike. Parses payloads into command models, applies
each command's rate limit, calls the actors, and wraps results in the reply envelope of
docs/design.md.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

import pykka
from pydantic import BaseModel

from actors.health_actor import HealthCheckActor, Progress
from actors.proxy_actor import ProxyActor, UpdateRequest
from actors.proxy_pool import MAX_LIVE_PROXY_ACTORS, ProxyPoolActor
from actors.rotation_actor import RotationActor
from actors.writer import COMMIT_TIMEOUT
from adapters.config import Settings
from adapters.proxycheck import ProxyEndpoint
from adapters.store import Pending
from domain import rules
from domain.commands import (
    PROXY_COMMANDS,
    AddProxy,
    Command,
    ImportProxies,
    ListProxies,
    RemoveProxy,
    SelectProxy,
    SetRotation,
    UpdateProxy,
    ValidateProxy,
)
from domain.endpoints import endpoint_url
from domain.errors import (
    ActorDownError,
    BaseError,
    DuplicateProxyError,
    RateLimitError,
    ValidationError,
)
from domain.health import HealthReport
from domain.parsing import parse_command
from domain.proxy_lines import parse_proxy_line
from domain.results import Ack, ProxyRow, ValidationResult
from domain.selection import Selection, SelectionContext
from projections import queries
from projections.sql import Connection
from service.rate_limit import RateLimiter
from service.supervision import Supervision

log = logging.getLogger(__name__)

Handler = Callable[[Any], Any]
# a handler of a long command, told of its advance as it goes
ProgressHandler = Callable[[Any, Progress | None], Any]


class Dispatcher:
    """Route validated commands to actors and queries; errors become envelopes, not crashes."""

    def __init__(
        self,
        pool: pykka.ActorProxy[ProxyPoolActor],
        read: Callable[[], AbstractContextManager[Connection]],
        settle: Callable[[], None],
        limiter: RateLimiter | None = None,
        health: pykka.ActorProxy[HealthCheckActor] | None = None,
        settings: Settings | None = None,
        rotation: pykka.ActorProxy[RotationActor] | None = None,
        max_cached_actors: int = MAX_LIVE_PROXY_ACTORS,
        supervision: Supervision | None = None,
    ) -> None:
        self._rotation = rotation
        self._supervision = supervision
        self._pool = pool
        self._health = health
        self._settings = settings or Settings()
        self._egress = self._settings.egress_policy()
        self._read = read
        self._settle = settle
        self._limiter = limiter
        # Request workers of the control socket call in from many threads: the two caches
        # below are read and changed under ``_lock`` only, never while waiting on an actor.
        self._lock = threading.Lock()
        # Proxy actors of recently updated proxies (one actor hop per update instead of two),
        # least recently used first; no more than the pool keeps alive anyway.
        self.max_cached_actors = max_cached_actors
        self._proxy_actors: OrderedDict[UUID, pykka.ActorProxy[ProxyActor]] = OrderedDict()
        # Endpoints for validation, dropped whenever this dispatcher updates or removes the
        # proxy (as stale as the proxy actor's own state, and no more). ``_epoch`` counts the
        # drops, so an endpoint fetched before a drop is not cached after it.
        self._endpoints: dict[str, ProxyEndpoint] = {}
        self._epoch = 0
        self._commands: dict[str, type[Command]] = dict(PROXY_COMMANDS)
        self._handlers: dict[type[Command], Handler] = {
            AddProxy: lambda c: self._pool.add(c).get(),
            RemoveProxy: self._remove,
            UpdateProxy: self._update,
            SetRotation: lambda c: self._pool.set_rotation(c).get(),
            ListProxies: self._list,
            SelectProxy: self._select,
            ImportProxies: self._import,
        }
        self._progressive: dict[type[Command], ProgressHandler] = {
            ValidateProxy: self._validate}

    def register(self, commands: dict[str, type[Command]],
                 handlers: dict[type[Command], Handler],
                 progressive: dict[type[Command], ProgressHandler] | None = None) -> None:
        """Serve more channels (the browser side registers its own); ``progressive``
        handlers are also given the caller's progress callback."""
        self._commands.update(commands)
        self._handlers.update(handlers)
        self._progressive.update(progressive or {})

    @property
    def channels(self) -> list[str]:
        """Every channel this dispatcher serves."""
        return sorted(self._commands)

    def execute(self, command: Command, client: str = "local",
                progress: Progress | None = None) -> Any:
        """Run a validated command; raises a ``BaseError`` subclass on failure.

        ``progress(done, total)`` is reported by long commands (validation) as they advance.
        """
        if self._limiter is not None:
            self._limiter.check(command.channel, client)
        try:
            long_running = self._progressive.get(type(command))
            if long_running is not None:
                return long_running(command, progress)
            handler = self._handlers.get(type(command))
            if handler is None:
                raise ValidationError(f"no handler for {command.channel}", field="channel")
            return handler(command)
        except pykka.ActorDeadError as exc:
            raise self._down(exc) from exc

    def _down(self, exc: pykka.ActorDeadError) -> ActorDownError:
        """Why an actor this command needs is gone, from the failures on record."""
        failures = self._supervision.failures() if self._supervision is not None else []
        named = [f for f in failures if str(exc).startswith(f.actor)] or failures
        if not named:
            return ActorDownError(f"{str(exc).split(' (')[0]} has stopped (see the log)")
        return ActorDownError("; ".join(f.describe() for f in named[:3])
                              + " (see `vipb status`)")

    def dispatch(self, channel: str, payload: Any, client: str = "local") -> dict[str, Any]:
        """Parse, execute and wrap: ``{"success": true, "data": ...}`` or an error envelope."""
        try:
            model = self._commands.get(channel)
            if model is None:
                raise ValidationError(f"unknown channel {channel!r}", field="channel")
            data = self.execute(parse_command(model, payload, strict=True), client)
        except RateLimitError as exc:
            return {"success": False, "error": exc.message, "code": exc.code,
                    "retryAfter": round(exc.retry_after, 3), "details": exc.details()}
        except BaseError as exc:
            reply: dict[str, Any] = {"success": False, "error": exc.message, "code": exc.code}
            if exc.details():
                reply["details"] = exc.details()
            return reply
        except Exception:
            log.exception("unexpected error on %s", channel)
            return {"success": False, "error": "internal error (see the host log)",
                    "code": "internal_error"}
        return {"success": True, "data": _jsonable(data)}

    def _remove(self, command: RemoveProxy) -> Any:
        self._forget(command.proxy_id)
        return self._pool.remove(command).get()

    def _forget(self, proxy_id: UUID, actor: bool = False) -> None:
        """Drop the cached endpoint (and, if asked, the cached actor) of a proxy."""
        with self._lock:
            self._endpoints.pop(str(proxy_id), None)
            self._epoch += 1
            if actor:
                self._proxy_actors.pop(proxy_id, None)

    def cached_actors(self) -> int:
        """How many proxy actors this dispatcher keeps at hand (at most
        ``max_cached_actors``)."""
        with self._lock:
            return len(self._proxy_actors)

    def _actor(self, proxy_id: UUID, fresh: bool) -> pykka.ActorProxy[ProxyActor]:
        """The proxy's actor: the cached one if alive (unless ``fresh``), else the pool's."""
        with self._lock:
            actor = None if fresh else self._proxy_actors.get(proxy_id)
            if actor is not None and actor.actor_ref.is_alive():
                self._proxy_actors.move_to_end(proxy_id)
                return actor
        started: pykka.ActorProxy[ProxyActor] = self._pool.actor_for(proxy_id).get()
        with self._lock:  # (the pool is asked outside the lock: that waits on its actor)
            self._proxy_actors[proxy_id] = started
            self._proxy_actors.move_to_end(proxy_id)
            while len(self._proxy_actors) > self.max_cached_actors:
                self._proxy_actors.popitem(last=False)
        return started

    def _update(self, command: UpdateProxy) -> Any:
        # The actor proxy is cached here so a hot proxy costs one actor hop, not two; a
        # stopped actor (proxy removed) sends us back to the pool, which knows the truth.
        self._forget(command.proxy_id)
        try:
            ids = self._send_update(self._actor(command.proxy_id, fresh=False), command)
        except pykka.ActorDeadError:  # the pool stopped that actor (idle): use the next one
            self._forget(command.proxy_id, actor=True)
            ids = self._send_update(self._actor(command.proxy_id, fresh=True), command)
        return Ack.of(command.proxy_id, ids)

    @staticmethod
    def _send_update(actor: pykka.ActorProxy[ProxyActor], command: UpdateProxy) -> list[int]:
        """Tell the update; the committer wakes us directly once it is durable (no actor
        reply hop). ``ActorDeadError`` when the actor stopped before handling it."""
        reply = Pending()
        actor.actor_ref.tell(UpdateRequest(command, reply))
        return reply.result(COMMIT_TIMEOUT)

    def _validate(self, command: ValidateProxy,
                  progress: Progress | None = None) -> list[ValidationResult]:
        check_url = command.check_url or self._settings.check_url
        rules.require_public_target(check_url, self._egress, "check_url")
        if self._health is None:
            raise ValidationError("this runtime has no health checker", field="channel")
        ids = [command.proxy_id] if command.proxy_id else [
            UUID(i) for i in self._pool.proxy_ids().get()]
        # With --all, a proxy removed since the list was taken is simply not checked.
        endpoints = self._endpoints_of(ids, skip_removed=command.proxy_id is None)
        reports: dict[str, HealthReport]
        reports, position = self._health.check(
            endpoints, check_url, command.samples, command.timeout, command.concurrency,
            progress).get()
        if self._rotation is not None:  # measured latencies; outcomes feed the breakers
            self._rotation.health_many(
                [(pid, r.ok, r.latency_ms) for pid, r in reports.items()],
                {pid: r.exit_country for pid, r in reports.items() if r.exit_country}).get()
        results = []
        for endpoint in endpoints:
            report = reports[endpoint.id]
            results.append(ValidationResult(
                id=endpoint.id,
                endpoint=endpoint_url(endpoint.protocol, endpoint.host, endpoint.port),
                status=report.status.value, latency_ms=report.latency_ms,
                failure=report.failure.value if report.failure else None,
                message=report.message, http_status=report.http_status,
                exit_ip=report.exit_ip, exit_country=report.exit_country,
                anonymity=report.anonymity.value if report.ok else None,
                position=position))
        return results

    def _endpoints_of(self, ids: list[UUID], skip_removed: bool) -> list[ProxyEndpoint]:
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

    def _import(self, command: ImportProxies) -> dict[str, Any]:
        imported: list[str] = []
        updated: list[str] = []
        errors: list[dict[str, Any]] = []
        for number, raw in enumerate(command.lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                fields = parse_proxy_line(line, default_protocol=command.protocol.value)
                try:
                    ack: Ack = self._pool.add(parse_command(AddProxy, fields)).get()
                    imported.append(ack.id)
                except DuplicateProxyError as exc:
                    if not command.upsert:
                        raise
                    # the same endpoint and username: only the password can differ
                    password = fields.get("password")
                    if password is not None and self._update(UpdateProxy(
                            proxy_id=UUID(exc.existing_id), password=password)).changed:
                        updated.append(exc.existing_id)
            except ValueError as exc:
                errors.append({"line": number, "error": str(exc)})
            except BaseError as exc:
                errors.append({"line": number, "error": exc.message})
        return {"imported": imported, "updated": updated, "errors": errors}

    def _select(self, command: SelectProxy) -> Selection:
        if self._rotation is None:
            raise ValidationError("this runtime has no rotation engine", field="channel")
        ctx = SelectionContext(url=command.url, domain=command.domain, country=command.country)
        selection: Selection = self._rotation.select(ctx).get()
        self._rotation.release(selection.proxy_id).get()  # a trial pick: nothing was sent
        return selection

    def _list(self, command: ListProxies) -> list[ProxyRow]:
        self._settle()
        with self._read() as conn:
            return queries.list_proxies(
                conn,
                protocol=command.protocol.value if command.protocol else None,
                status=command.status,
                country=command.country,
                limit=command.limit,
            )


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, Selection):
        return dataclasses.asdict(data)
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    return data
