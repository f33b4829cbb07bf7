"""Alerts: rules on positions and creators, each alert they raise, and its deliveries.

An ``AlertRule`` names what to watch (a domain entering or leaving the top N, moving by at
least K places, starting or stopping to rank; a creator page becoming unreachable or its
content changing) and where to send it (a webhook or an e-mail address). The webhook URL
and its signing secret are encrypted with the rule's own data key (like proxy credentials):
removing the rule destroys them.

An ``Alert`` is one firing of a rule for one source event. Its id is derived from the rule
and that event (``alert_id``), so raising it again (after a restart, or a rebuild of the read
models that find it) is a conflict, not a second alert. Each delivery attempt is on record:
``AlertDelivered``, or ``AlertDeliveryFailed`` with the wait before the next attempt (none:
given up).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id


class RuleKind(StrEnum):
    """What a rule watches for."""

    ENTERS_TOP = "enters-top"
    LEAVES_TOP = "leaves-top"
    MOVES = "moves"
    STOPS_RANKING = "stops-ranking"
    STARTS_RANKING = "starts-ranking"
    UNREACHABLE = "unreachable"
    CONTENT_CHANGED = "content-changed"
    DIGEST = "digest"  # a schedule's run finished: its movement summary
    TEST = "test"  # raised by `vipb alert test`, never by a source event


POSITION_KINDS = frozenset({RuleKind.ENTERS_TOP, RuleKind.LEAVES_TOP, RuleKind.MOVES,
                            RuleKind.STOPS_RANKING, RuleKind.STARTS_RANKING})
CREATOR_KINDS = frozenset({RuleKind.UNREACHABLE, RuleKind.CONTENT_CHANGED})
THRESHOLD_KINDS = frozenset({RuleKind.ENTERS_TOP, RuleKind.LEAVES_TOP, RuleKind.MOVES})
DIGEST_KINDS = frozenset({RuleKind.DIGEST})
DIGEST_ROWS = 200  # keyword x domain rows a digest carries (its summary counts them all)


class AlertRule(Aggregate):
    """A named rule and where its alerts go (``channel`` is ``webhook`` or ``email``)."""

    @event("AlertRuleAdded")
    def __init__(self, id: UUID, name: str, kind: str, threshold: int | None,
                 filters: dict[str, str | None], channel: str, webhook_url: str | None,
                 secret: str | None, email: str | None, shown_target: str) -> None:
        self.name = name
        self.kind = kind
        self.threshold = threshold
        self.filters = filters
        self.channel = channel
        self.webhook_url = webhook_url
        self.secret = secret
        self.email = email
        self.shown_target = shown_target  # what lists show: no path, query or secret
        self.removed = False

    @event("AlertRuleRemoved")
    def remove(self) -> None:
        """Stop raising alerts (those raised stay on record; undelivered ones are given up)."""
        self.removed = True


# The added event carries the webhook URL and secret: encrypted with the rule's data key,
# destroyed with it on removal. AlertRuleRemoved carries none and stays readable.
AlertRule.AlertRuleAdded.carries_secrets = True  # type: ignore[attr-defined]


def alert_id(rule_id: UUID | str, source: str) -> UUID:
    """The one id an alert of ``rule_id`` for ``source`` (event and subject) can have."""
    return named_id("alert", f"{rule_id}:{source}")


class Alert(Aggregate):
    """One alert raised by a rule, and what became of its delivery."""

    @event("AlertTriggered")
    def __init__(self, id: UUID, rule_id: str, rule: str, kind: str, channel: str,
                 subject: dict[str, Any], message: str, source_position: int | None) -> None:
        self.rule_id = rule_id
        self.rule = rule
        self.kind = kind
        self.channel = channel
        self.subject = subject
        self.message = message
        self.source_position = source_position
        self.attempts = 0
        self.delivered = False
        self.given_up = False
        self.retry_in: float | None = None
        self.last_error: str | None = None

    @property
    def settled(self) -> bool:
        """Delivered, or given up: nothing more will be tried."""
        return self.delivered or self.given_up

    @event("AlertDelivered")
    def delivered_by(self, attempt: int, channel: str, detail: str) -> None:
        """Record a successful delivery (the receiver accepted it)."""
        self.attempts = attempt
        self.delivered = True
        self.retry_in = None

    @event("AlertDeliveryFailed")
    def delivery_failed(self, attempt: int, channel: str, error: str,
                        retry_in: float | None) -> None:
        """Record a failed attempt; ``retry_in`` None: no further attempt."""
        self.attempts = attempt
        self.retry_in = retry_in
        self.given_up = retry_in is None
        self.last_error = error


def position_fires(kind: str, threshold: int | None, before: int | None,
                   after: int | None) -> bool:
    """Does a change of a domain's position from ``before`` to ``after`` (None: not ranked
    in the results scanned) fire a rule of ``kind``? Only called when there is a ``before``
    (a series' first outcome fires nothing)."""
    n = threshold or 0
    if kind == RuleKind.ENTERS_TOP:
        return after is not None and after <= n and (before is None or before > n)
    if kind == RuleKind.LEAVES_TOP:
        return before is not None and before <= n and (after is None or after > n)
    if kind == RuleKind.MOVES:
        return before is not None and after is not None and abs(after - before) >= n
    if kind == RuleKind.STOPS_RANKING:
        return before is not None and after is None
    if kind == RuleKind.STARTS_RANKING:
        return before is None and after is not None
    return False


def creator_fires(kind: str, was_reachable: bool | None, reachable: bool,
                  changed: bool) -> bool:
    """Does a creator check fire a rule of ``kind``? ``was_reachable``: the previous check's
    answer (None: this is the first check, and a first failure counts)."""
    if kind == RuleKind.UNREACHABLE:
        return not reachable and was_reachable is not False
    if kind == RuleKind.CONTENT_CHANGED:
        return changed
    return False


def _place(position: int | None, scanned: int) -> str:
    return f"#{position}" if position is not None else f"not ranked in {scanned}"


def _moved(before: int, after: int) -> str:
    places = abs(after - before)
    return (f"moved {'up' if after < before else 'down'} {places} "
            f"place{'' if places == 1 else 's'}")


def position_message(kind: str, threshold: int | None, domain: str, search: str,
                     before: int | None, after: int | None, scanned: int) -> str:
    """One sentence for a position alert: what happened, from where to where."""
    what = {
        RuleKind.ENTERS_TOP: f"entered the top {threshold}",
        RuleKind.LEAVES_TOP: f"left the top {threshold}",
        RuleKind.MOVES: _moved(before or 0, after or 0),
        RuleKind.STOPS_RANKING: "stopped ranking",
        RuleKind.STARTS_RANKING: "started ranking",
    }.get(RuleKind(kind), kind)
    before_text = f"#{before}" if before is not None else "not ranked"
    return f"{domain} {what} for {search}: {before_text} -> {_place(after, scanned)}"


def creator_message(kind: str, name: str, reason: str | None, status: int | None) -> str:
    """One sentence for a creator alert."""
    if kind == RuleKind.UNREACHABLE:
        why = reason or "unreachable"
        return f"creator {name} is unreachable ({why}{f', HTTP {status}' if status else ''})"
    return f"creator {name}: the page's content changed"


MAIL_SERVER_ID = named_id("singleton", "mail-server")


class MailServer(Aggregate):
    """The SMTP server e-mail alerts go through (one per data dir)."""

    @event("MailServerCreated")
    def __init__(self, id: UUID) -> None:
        self.host: str | None = None
        self.port = 587
        self.security = "starttls"
        self.username: str | None = None
        self.password: str | None = None
        self.sender: str | None = None
        self.ca_file: str | None = None

    @event("MailServerConfigured")
    def configure(self, host: str, port: int, security: str, username: str | None,
                  password: str | None, sender: str, ca_file: str | None) -> None:
        """Set every field (the password is encrypted with the server's data key)."""
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.sender, self.ca_file = sender, ca_file


MailServer.MailServerConfigured.carries_secrets = True  # type: ignore[attr-defined]
