"""Handlers of the alert channels: rules and the mail server through the ``AlertRulesActor``,
test alerts through the courier, reads from ``projections.alerts`` on settled views."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pykka

from actors.alert_courier import AlertCourier
from actors.alert_rules import AlertRulesActor
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
from service.views import SettledReads

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class AlertChannels:
    """Alert commands as actor calls and read queries."""

    def __init__(self, rules: pykka.ActorProxy[AlertRulesActor], courier: AlertCourier,
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None]) -> None:
        self._rules = rules
        self._courier = courier
        self._reads = SettledReads(read, settle)

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        r = self._rules
        return {
            AddAlertRule: lambda c: r.add(c).get(timeout=TIMEOUT),
            RemoveAlertRule: lambda c: r.remove(c).get(timeout=TIMEOUT),
            ListAlertRules: lambda c: self._reads.query(queries.alert_rules,
                                                        c.include_removed),
            AlertHistory: self._history,
            TestAlert: lambda c: self._courier.test(r.described(c.name).get(timeout=TIMEOUT)),
            SetMailServer: lambda c: r.set_mail_server(c).get(timeout=TIMEOUT),
            ShowMailServer: lambda _c: r.show_mail_server().get(timeout=TIMEOUT),
        }

    def _history(self, command: AlertHistory) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._reads.query(_history_of, command.rule,
                                                        command.limit)
        return found


def _history_of(conn: Connection, rule: str | None,
                limit: int) -> list[dict[str, Any]]:
    """One settled read: the rule's id by name (refused when none), then its alerts."""
    rule_id = None
    if rule is not None:
        rule_id = queries.rule_id_of(conn, rule)
        if rule_id is None:
            raise ValidationError(f"no alert rule named {rule!r} (see `vipb alert list "
                                  "--all`)", field="rule")
    return queries.alert_history(conn, rule_id, limit)
