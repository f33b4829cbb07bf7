"""Handlers of the ``proxy:*`` channels: writes through the proxy pool and proxy actors,
validation through the health checker, trial picks through the rotation engine, lists from
``projections.queries``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pykka

from actors.proxy_actor import ProxyActor, UpdateRequest
from actors.writer import COMMIT_TIMEOUT
from adapters.store import Pending
from domain import rules
from domain.commands import (
    AddProxy,
    GetProxy,
    GetRotation,
    ImportProxies,
    ListProxies,
    RemoveProxies,
    RemoveProxy,
    SelectProxy,
    SetRotation,
    UpdateProxies,
    UpdateProxy,
    ValidateProxy,
)
from domain.endpoints import endpoint_url
from domain.errors import BaseError, DuplicateProxyError, ProxyNotFoundError
from domain.health import HealthReport
from domain.parsing import parse_command
from domain.progress import Progress
from domain.proxy_lines import parse_proxy_line
from domain.results import Ack, ProxyRow, ValidationResult
from domain.selection import Selection, SelectionContext
from projections import queries
from service.handlers.deps import Deps


def add(command: AddProxy, deps: Deps) -> Ack:
    """Add a proxy to the pool."""
    added: Ack = deps.pool.add(command).get()
    return added


def remove(command: RemoveProxy, deps: Deps) -> Any:
    """Remove a proxy (its cached endpoint goes with it)."""
    deps.proxy_handles.forget(command.proxy_id)
    return deps.pool.remove(command).get()


def remove_many(command: RemoveProxies, deps: Deps) -> dict[str, Any]:
    """Remove each proxy; one that cannot be is an error of its own."""
    removed: list[str] = []
    errors: list[dict[str, str]] = []
    for proxy_id in command.proxy_ids:
        try:
            removed.append(remove(RemoveProxy(proxy_id=proxy_id), deps).id)
        except BaseError as exc:
            errors.append({"proxy_id": str(proxy_id), "error": exc.message})
    return {"removed": removed, "errors": errors}


def update_many(command: UpdateProxies, deps: Deps) -> dict[str, Any]:
    """Update each proxy alike; one that cannot be is an error of its own."""
    found: dict[str, list[Any]] = {"updated": [], "unchanged": [], "errors": []}
    for proxy_id in command.proxy_ids:
        try:
            ack = update(command.one(proxy_id), deps)
        except BaseError as exc:
            found["errors"].append({"proxy_id": str(proxy_id), "error": exc.message})
            continue
        found["updated" if ack.changed else "unchanged"].append(ack.id)
    return found


def update(command: UpdateProxy, deps: Deps) -> Ack:
    """Change a proxy through its own actor; a stopped actor (proxy idle or removed) sends
    us back to the pool, which knows the truth."""
    handles = deps.proxy_handles
    handles.forget(command.proxy_id)
    try:
        ids = _send_update(handles.actor(command.proxy_id, fresh=False), command)
    except pykka.ActorDeadError:  # the pool stopped that actor (idle): use the next one
        handles.forget(command.proxy_id, actor=True)
        ids = _send_update(handles.actor(command.proxy_id, fresh=True), command)
    return Ack.of(command.proxy_id, ids)


def _send_update(actor: pykka.ActorProxy[ProxyActor], command: UpdateProxy) -> list[int]:
    """Tell the update; the committer wakes us directly once it is durable (no actor reply
    hop). ``ActorDeadError`` when the actor stopped before handling it."""
    reply = Pending()
    actor.actor_ref.tell(UpdateRequest(command, reply))
    return reply.result(COMMIT_TIMEOUT)


def set_rotation(command: SetRotation, deps: Deps) -> Any:
    """Set the rotation strategy."""
    return deps.pool.set_rotation(command).get()


def validate(command: ValidateProxy, deps: Deps,
             progress: Progress | None = None) -> list[ValidationResult]:
    """Check one proxy or all through the health checker; outcomes feed the breakers."""
    check_url = command.check_url or deps.settings.check_url
    rules.require_public_target(check_url, deps.egress, "check_url")
    ids = [command.proxy_id] if command.proxy_id else [
        UUID(i) for i in deps.pool.proxy_ids().get()]
    # With --all, a proxy removed since the list was taken is simply not checked.
    endpoints = deps.proxy_handles.endpoints(ids, skip_removed=command.proxy_id is None)
    reports: dict[str, HealthReport]
    reports, position = deps.health.check(
        endpoints, check_url, command.samples, command.timeout, command.concurrency,
        progress).get()
    deps.rotation.health_many(  # measured latencies and exit countries
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


def import_lines(command: ImportProxies, deps: Deps) -> dict[str, Any]:
    """Add each proxy line (``upsert``: a known endpoint and user takes the new password);
    errors are reported per line, and the other lines still go in."""
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
                ack: Ack = deps.pool.add(parse_command(AddProxy, fields)).get()
                imported.append(ack.id)
            except DuplicateProxyError as exc:
                if not command.upsert:
                    raise
                # the same endpoint and username: only the password can differ
                password = fields.get("password")
                if password is not None and update(UpdateProxy(
                        proxy_id=UUID(exc.existing_id), password=password), deps).changed:
                    updated.append(exc.existing_id)
        except ValueError as exc:
            errors.append({"line": number, "error": str(exc)})
        except BaseError as exc:
            errors.append({"line": number, "error": exc.message})
    return {"imported": imported, "updated": updated, "errors": errors}


def select(command: SelectProxy, deps: Deps) -> Selection:
    """A trial pick of the rotation engine (released at once: nothing was sent)."""
    ctx = SelectionContext(url=command.url, domain=command.domain, country=command.country)
    selection: Selection = deps.rotation.select(ctx).get()
    deps.rotation.release(selection.proxy_id).get()
    return selection


def list_proxies(command: ListProxies, deps: Deps) -> list[ProxyRow]:
    """Proxies from the view, filtered."""
    rows: list[ProxyRow] = deps.reads.query(lambda conn: queries.list_proxies(
        conn, protocol=command.protocol.value if command.protocol else None,
        status=command.status, country=command.country, tag=command.tag,
        limit=command.limit))
    return rows


def get_proxy(command: GetProxy, deps: Deps) -> ProxyRow:
    """One proxy from the view, by id or unique prefix."""
    row: ProxyRow | None = deps.reads.query(queries.find_proxy, command.proxy_id)
    if row is None:
        raise ProxyNotFoundError(command.proxy_id)
    return row


def get_rotation(_command: GetRotation, deps: Deps) -> dict[str, Any]:
    """The strategy in force (round-robin, marked default, before the first one is set)."""
    row = deps.reads.query(queries.rotation)
    if row is None:
        return {"strategy": "round_robin", "params": {}, "updated_at": None, "default": True}
    found: dict[str, Any] = row.model_dump()
    return found


HANDLERS = {AddProxy: add, RemoveProxy: remove, UpdateProxy: update,
            RemoveProxies: remove_many, UpdateProxies: update_many,
            SetRotation: set_rotation, ListProxies: list_proxies, SelectProxy: select,
            ImportProxies: import_lines, GetProxy: get_proxy, GetRotation: get_rotation}
PROGRESSIVE = {ValidateProxy: validate}
