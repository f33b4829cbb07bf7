"""What ``host:status`` reports about a runtime, whether a host process or the CLI opened it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from projections import queries
from projections.alerts import alert_states

if TYPE_CHECKING:
    from service.runtime import Runtime


def health_report(rt: Runtime) -> dict[str, Any]:
    """``health`` (ok or degraded), the actors that failed, the audit chain's state and the
    views': a missing or reset chain degrades the host like a dead actor (nothing is
    sealed), and so do views that disagree with the event store (never "ok" then)."""
    report = rt.supervision.report()
    audit = rt.auditor.problem()
    views = rt.views_problem()
    if audit is not None or views is not None:
        report["health"] = "degraded"
    return {**report, "audit": audit or "ok", "views_check": views or "ok"}


def ask_or_none(ask: Callable[[], Any]) -> Any:
    """An actor's answer for a status report, or None when that actor is down (the report's
    ``failures`` say why)."""
    try:
        return ask()
    except pykka.ActorDeadError:
        return None


def runtime_status(rt: Runtime) -> dict[str, Any]:
    """The data dir's figures as a runtime opened without a host sees them (its views are
    settled first, so there is no lag)."""
    rt.settle()
    with rt.reader() as conn:
        by_status, open_tabs = queries.pool_summary(conn)
        alerts = alert_states(conn)
    return {"host": "not running", "data_dir": str(rt.paths.root), **health_report(rt),
            "proxies": by_status, "open_tabs": open_tabs,
            "store_head": rt.app.event_log.head(),
            "projection_lag": 0, "views_note": rt.views_note,
            "next_schedules": ask_or_none(lambda: rt.scheduler.upcoming(5).get(timeout=60)),
            "alerts": alerts, "egress": rt.settings.egress_status()}
