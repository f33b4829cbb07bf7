"""The alert-rules actor: the write side of alert rules and of the mail server.

Rules are found in the event store (``known_ids``: added and not removed) and loaded on first
use; this actor is their only writer from then on, so names stay unique. Each rule gets its
own data key (its webhook URL and secret are encrypted with it); removing the rule destroys
the key. The mail server's password is likewise under the mail server's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from actors.base import VipbActor
from actors.follow import replace_cached
from actors.writer import EventWriter
from adapters.alerts import MailServerConfig
from adapters.secrets import DataKeyStore
from adapters.store import ShreddedEventError, Subscription
from domain import rules
from domain.alert import MAIL_SERVER_ID, AlertRule, MailServer
from domain.alert_commands import AddAlertRule, RemoveAlertRule, SetMailServer
from domain.egress import EgressPolicy
from domain.endpoints import host_port
from domain.errors import ValidationError
from domain.events import events_of
from domain.results import Ack


def shown_target(command: AddAlertRule) -> str:
    """What lists show of a rule's destination: an address, or a webhook's scheme and host
    (its path often holds a token)."""
    if command.email is not None:
        return command.email
    parts = urlsplit(command.webhook_url or "")
    host = host_port(parts.hostname or "", parts.port) if parts.port else parts.hostname
    return f"{parts.scheme}://{host}/" + ("..." if parts.path.strip("/") or parts.query else "")


RULE_EVENTS = events_of(AlertRule, "AlertRuleAdded", "AlertRuleRemoved")


class AlertRulesActor(VipbActor):
    """Owns every ``AlertRule`` and the ``MailServer``."""

    def __init__(self, writer: EventWriter, keys: DataKeyStore,
                 known_ids: Callable[[], list[str]], egress: EgressPolicy,
                 shared: bool = False) -> None:
        """``shared``: hosts share the store; rules other hosts add or remove are
        followed (the courier may run on any of them)."""
        super().__init__()
        self._shared = shared
        self._others: Subscription | None = None
        self._writer = writer
        self._keys = keys
        self._known_ids = known_ids
        self._egress = egress
        self._rules: dict[str, AlertRule] | None = None  # casefolded name -> rule

    def _all(self) -> dict[str, AlertRule]:
        if self._rules is None:
            if self._shared:
                self._others = self._writer.log.follow(RULE_EVENTS)
            self._rules = {}
            for rule_id in self._known_ids():
                rule = self._writer.load(AlertRule, UUID(rule_id))
                if rule is not None and not rule.removed:
                    self._rules[rule.name.casefold()] = rule
        elif self._others is not None:
            for changed in self._others.changed():
                self._reload(changed)
        return self._rules

    def _reload(self, rule_id: UUID) -> None:
        """Read a rule another host (or this one) changed; a removed one is dropped, and
        with it this process's cached copy of its destroyed key."""
        assert self._rules is not None
        try:
            rule = self._writer.load(AlertRule, rule_id)
        except ShreddedEventError:
            rule = None  # removed: its key is gone
        if replace_cached(self._rules, rule_id, rule) is None:
            self._keys.evict(rule_id)

    def get(self, name: str) -> AlertRule:
        """The rule named ``name`` (any case); refused when there is none."""
        rule = self._all().get(name.casefold())
        if rule is None:
            raise ValidationError(f"no alert rule named {name!r} (see `vipb alert list`)",
                                  field="name")
        return rule

    def add(self, command: AddAlertRule) -> Ack:
        """Add a rule under a name no other rule has."""
        rules_by_name = self._all()
        if command.name.casefold() in rules_by_name:
            raise ValidationError(f"an alert rule named {command.name!r} exists; remove it "
                                  "first", field="name")
        if command.webhook_url is not None:
            rules.require_public_target(command.webhook_url, self._egress, "webhook_url")
        rule_id = uuid.uuid4()
        rule = AlertRule(
            id=rule_id, name=command.name, kind=command.kind, threshold=command.threshold,
            filters=command.filters(), channel="webhook" if command.webhook_url else "email",
            webhook_url=command.webhook_url,
            secret=command.secret.get_secret_value() if command.secret else None,
            email=command.email, shown_target=shown_target(command))
        self._keys.create(rule_id)
        try:
            ids = self._writer.save(rule)
        except BaseException:
            self._keys.destroy(rule_id)
            raise
        rules_by_name[command.name.casefold()] = rule
        return Ack.of(rule_id, ids)

    def remove(self, command: RemoveAlertRule) -> Ack:
        """Record the removal, then destroy the rule's data key."""
        rule = self.get(command.name)
        rule.remove()
        ids = self._writer.save(rule)
        self._keys.destroy(rule.id)
        self._all().pop(command.name.casefold(), None)  # (a follower may have dropped it)
        return Ack.of(rule.id, ids)

    def target(self, rule_id: str) -> dict[str, Any] | None:
        """Where the rule's alerts go (channel, webhook URL and secret, or address); None
        once the rule is removed."""
        for rule in self._all().values():
            if str(rule.id) == rule_id:
                return {"name": rule.name, "channel": rule.channel,
                        "webhook_url": rule.webhook_url, "secret": rule.secret,
                        "email": rule.email}
        return None

    def described(self, name: str) -> dict[str, Any]:
        """A rule's id, name, kind and channel (for a test alert)."""
        rule = self.get(name)
        return {"id": str(rule.id), "name": rule.name, "kind": rule.kind,
                "channel": rule.channel, "target": rule.shown_target}

    # --- the mail server -------------------------------------------------------------------------

    def set_mail_server(self, command: SetMailServer) -> Ack:
        """Set (or replace) the SMTP server e-mail alerts go through: refused at once when
        the egress rule would refuse every delivery to it (a loopback or metadata host)."""
        rules.require_public_target(f"smtp://{host_port(command.host, command.port)}/",
                                    self._egress, "host")
        server = self._writer.load(MailServer, MAIL_SERVER_ID)
        if server is None:
            server = MailServer(id=MAIL_SERVER_ID)
        if self._keys.get(MAIL_SERVER_ID) is None:
            self._keys.create(MAIL_SERVER_ID)
        server.configure(host=command.host, port=command.port, security=command.security,
                         username=command.username,
                         password=command.password.get_secret_value() if command.password
                         else None, sender=command.sender, ca_file=command.ca_file)
        return Ack.of(MAIL_SERVER_ID, self._writer.save(server))

    def mail_server(self) -> MailServerConfig | None:
        """The configured server (password included: for the mail sender only)."""
        server = self._writer.load(MailServer, MAIL_SERVER_ID)
        if server is None or server.host is None or server.sender is None:
            return None
        return MailServerConfig(host=server.host, port=server.port, security=server.security,
                                username=server.username, password=server.password,
                                sender=server.sender, ca_file=server.ca_file)

    def show_mail_server(self) -> dict[str, Any]:
        """The configured server as people see it: no password, only whether one is set."""
        server = self.mail_server()
        if server is None:
            return {"configured": False}
        return {"configured": True, "host": server.host, "port": server.port,
                "security": server.security, "login": server.username is not None,
                "sender": server.sender, "ca_file": server.ca_file}
