"""The ``activity_logs`` table: one readable line per event, credentials never included."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from domain.endpoints import endpoint_url
from projections.sql import Cursor
from projections.view import EventRecord, Handler, View, event_name

SHREDDED = "content destroyed with its data key (crypto-shredded)"


def _endpoint(s: dict[str, Any]) -> str:
    return endpoint_url(str(s["protocol"]), str(s["host"]), int(s["port"]))


def _proxy_added(s: dict[str, Any]) -> str:
    creds = "with credentials" if s.get("username") is not None else "without credentials"
    extra = f", country {s['country']}" if s.get("country") else ""
    return f"proxy added: {_endpoint(s)} {creds}{extra}"


def _value(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def _proxy_updated(s: dict[str, Any]) -> str:
    parts = [f"{k}={_value(v)}" for k, v in sorted(s["changes"].items())]
    if s.get("credentials_changed"):
        parts.append("credentials " + ("changed" if s.get("username") else "cleared"))
    return "proxy updated: " + ", ".join(parts)


def _strategy(s: dict[str, Any]) -> str:
    params = json.dumps(s["params"], sort_keys=True) if s["params"] else "no params"
    return f"rotation strategy set to {s['strategy']} ({params})"


DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "ProxyAdded": _proxy_added,
    "ProxyUpdated": _proxy_updated,
    "ProxyRemoved": lambda s: f"proxy removed ({s['reason']}); its data key was destroyed",
    "ProxyValidated": lambda s: (f"proxy {s['proxy_id']} validated: {s['latency_ms']:.0f} ms "
                                 f"median of {s['samples']}, exit {s['exit_ip'] or '?'}, "
                                 f"{s['anonymity']}"),
    "ProxyValidationFailed": lambda s: (f"proxy {s['proxy_id']} validation failed "
                                        f"({s['failure']}): {s['message']}"),
    "ProxyStatusChanged": lambda s: (f"proxy {s['proxy_id']} status {s['old']} -> {s['new']} "
                                     f"({s['reason']})"),
    "HealthJournalOpened": lambda s: f"health journal opened for {s['day']}",
    "RotationConfigCreated": _strategy,
    "RotationJournalOpened": lambda s: f"rotation journal opened for {s['day']}",
    "RotationApplied": lambda s: f"picked proxy {s['proxy_id']} by {s['strategy']}: "
                                 f"{s['reason']}",
    "StickySessionBound": lambda s: f"session {s['key']} bound to proxy {s['proxy_id']}",
    "StickySessionExpired": lambda s: f"session {s['key']} expired (proxy {s['proxy_id']})",
    "ProxyUsageSummarized": lambda s: (f"usage of proxy {s['proxy_id']}: {s['requests']} "
                                       f"requests, {s['successes']} ok, {s['failures']} failed, "
                                       f"{s.get('checks', 0)} health checks"),
    "CircuitBreakerCreated": lambda s: f"breaker created for {s['target']}",
    "CircuitOpened": lambda s: f"breaker of {s['target']} opened: {s['reason']}",
    "CircuitHalfOpened": lambda s: f"breaker of {s['target']} half-open: {s['reason']}",
    "CircuitClosed": lambda s: f"breaker of {s['target']} closed: {s['reason']}",
    "RotationStrategySet": _strategy,
    "AlertRuleAdded": lambda s: (f"alert rule {s['name']} added: {s['kind']}"
                                 f"{' ' + str(s['threshold']) if s['threshold'] else ''} by "
                                 f"{s['channel']} to {s['shown_target']}"),
    "AlertRuleRemoved": lambda s: "alert rule removed; its webhook URL and secret were "
                                  "destroyed with its data key",
    "AlertTriggered": lambda s: f"alert raised by rule {s['rule']}: {s['message']}",
    "AlertDelivered": lambda s: f"alert delivered by {s['channel']} ({s['detail']}, attempt "
                                f"{s['attempt']})",
    "AlertDeliveryFailed": lambda s: (f"alert delivery by {s['channel']} failed (attempt "
                                      f"{s['attempt']}): {s['error']}; " + (
                                          "given up" if s["retry_in"] is None
                                          else f"next in {s['retry_in']:.0f}s")),
    "MailServerConfigured": lambda s: (f"mail server set: {s['host']}:{s['port']} "
                                       f"({s['security']}), from {s['sender']}"),
    "EndpointRegistered": lambda s: f"endpoint index entry created for proxy {s['proxy_id']}",
    "EndpointClaimed": lambda s: f"endpoint claimed by proxy {s['proxy_id']}",
    "EndpointReleased": lambda s: f"endpoint released by proxy {s['proxy_id']}",
}


def describe(name: str, state: dict[str, Any]) -> str:
    """A one-line human description of an event; unknown events get a generic line."""
    describer = DESCRIBE.get(name)
    return describer(state) if describer else name


class ActivityView(View):
    """Maintains ``activity_logs`` (every event, in notification order)."""

    name: ClassVar[str] = "activity"
    tables: ClassVar[tuple[str, ...]] = ("activity_logs",)

    def create(self, cur: Cursor) -> None:
        """Create ``activity_logs``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS activity_logs (
                notification_id INTEGER PRIMARY KEY,
                occurred_at TEXT,
                aggregate_id TEXT NOT NULL,
                event TEXT NOT NULL,
                message TEXT NOT NULL
            )"""
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS activity_logs_aggregate ON activity_logs(aggregate_id)"
        )

    def handlers(self) -> dict[str, Handler]:
        """A removal also scrubs the proxy's earlier lines; the rest use ``handle_any``."""
        return {"ProxyRemoved": self._removed}

    def __init__(self) -> None:
        self._pending: list[tuple[int, str | None, str, str, str]] = []

    def flush(self, cur: Cursor) -> None:
        """Insert the batch's lines in one ``executemany``."""
        if self._pending:
            cur.executemany("INSERT INTO activity_logs VALUES (?,?,?,?,?)", self._pending)
            self._pending.clear()

    def discard(self) -> None:
        """Forget lines of a batch being rolled back."""
        self._pending.clear()

    def _removed(self, cur: Cursor, record: EventRecord) -> None:
        # The proxy's data key is destroyed right after this event commits: scrub now so the
        # table is the same whether it was built incrementally or rebuilt after shredding.
        self._scrub(cur, record.aggregate_id)
        self.handle_any(cur, record)

    def _scrub(self, cur: Cursor, aggregate_id: UUID) -> None:
        self.flush(cur)  # the lines to scrub may still be buffered
        cur.execute(
            "UPDATE activity_logs SET message=?, occurred_at=NULL WHERE aggregate_id=?",
            (SHREDDED, str(aggregate_id)),
        )

    def wants_all(self) -> bool:
        """The activity log has a line for every event."""
        return True

    def handle_any(self, cur: Cursor, record: EventRecord) -> None:
        """Buffer the event's line (written by ``flush`` at the end of the batch)."""
        self._pending.append((record.notification_id, record.timestamp, record.aggregate,
                              record.name, describe(record.name, record.state)))

    def forget(self, cur: Cursor, notification_id: int, aggregate_id: UUID,
               topic: str) -> None:
        """Log this event as shredded (its content is gone)."""
        self._pending.append(
            (notification_id, None, str(aggregate_id), event_name(topic), SHREDDED))
