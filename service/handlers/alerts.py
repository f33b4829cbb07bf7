"""Handlers of the alert channels: rules and the mail server through the ``AlertRulesActor``,
test alerts through the courier, reads from ``projections.alerts`` on settled views."""

from __future__ import annotations

from typing import Any

from domain.alert_commands import (
    AddAlertRule,
    AlertHistory,
    ListAlertRules,
    RemoveAlertRule,
    SetMailServer,
    ShowMailServer,
    TestAlert,
)
from domain.errors import ValidationError
from projections import alerts as queries
from projections.sql import Connection
from service.handlers.deps import TIMEOUT, Deps


def add_rule(c: AddAlertRule, deps: Deps) -> Any:
    """Add an alert rule (a digest rule's schedule must exist; its name is kept as the
    schedule spells it)."""
    if c.schedule is not None:
        c = c.model_copy(update={"schedule": deps.scheduler.named(c.schedule, "schedule")
                                 .get(timeout=TIMEOUT)})
    return deps.alert_rules.add(c).get(timeout=TIMEOUT)


def remove_rule(c: RemoveAlertRule, deps: Deps) -> Any:
    """Remove an alert rule."""
    return deps.alert_rules.remove(c).get(timeout=TIMEOUT)


def list_rules(c: ListAlertRules, deps: Deps) -> Any:
    """Alert rules from the view."""
    return deps.reads.query(queries.alert_rules, c.include_removed)


def history(c: AlertHistory, deps: Deps) -> list[dict[str, Any]]:
    """Alerts raised (of one rule, or all), newest first."""
    found: list[dict[str, Any]] = deps.reads.query(_history_of, c.rule, c.limit)
    return found


def _history_of(conn: Connection, rule: str | None, limit: int) -> list[dict[str, Any]]:
    """One settled read: the rule's id by name (refused when none), then its alerts."""
    rule_id = None
    if rule is not None:
        rule_id = queries.rule_id_of(conn, rule)
        if rule_id is None:
            raise ValidationError(f"no alert rule named {rule!r} (see `vipb alert list "
                                  "--all`)", field="rule")
    return queries.alert_history(conn, rule_id, limit)


def test(c: TestAlert, deps: Deps) -> Any:
    """Send a test alert through a rule's channel now."""
    return deps.courier.test(deps.alert_rules.described(c.name).get(timeout=TIMEOUT))


def set_mail_server(c: SetMailServer, deps: Deps) -> Any:
    """Set the SMTP server alerts by e-mail go through."""
    return deps.alert_rules.set_mail_server(c).get(timeout=TIMEOUT)


def show_mail_server(_c: ShowMailServer, deps: Deps) -> Any:
    """The SMTP server in force (no password)."""
    return deps.alert_rules.show_mail_server().get(timeout=TIMEOUT)


HANDLERS = {AddAlertRule: add_rule, RemoveAlertRule: remove_rule, ListAlertRules: list_rules,
            AlertHistory: history, TestAlert: test, SetMailServer: set_mail_server,
            ShowMailServer: show_mail_server}
