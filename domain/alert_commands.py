"""Command models of alerts (``alerts:*`` channels): rules, history, tests, the mail server.

Secrets (a webhook's signing secret, the SMTP password) are ``SecretStr``: never in a repr,
a log line or an error message; the webhook URL is kept secret too, since many services
(chat webhooks) put their token in its path.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, SecretStr, model_validator

from domain import rules
from domain.alert import (
    CREATOR_KINDS,
    DIGEST_KINDS,
    POSITION_KINDS,
    THRESHOLD_KINDS,
    RuleKind,
)
from domain.commands import Command
from domain.creator_commands import CreatorName
from domain.rank_commands import Device, Domain, Engine, Keyword, ScheduleName
from domain.results import Ack
from domain.tab_commands import HttpUrl

RuleName = Annotated[str, Field(min_length=1, max_length=64),
                     AfterValidator(lambda v: rules.check_text(v, max_len=64))]
MIN_SECRET = 16
_EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\\[\]]{1,64}@([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$")


def check_email(value: str) -> str:
    """Accept a plain ``local@domain`` address (no display name, no comments)."""
    address = value.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise ValueError("must be an e-mail address like ops@example.com")
    return address


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        text = value.get_secret_value()
        if not MIN_SECRET <= len(text) <= 256:
            raise ValueError(f"must be {MIN_SECRET} to 256 characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise ValueError("must not contain control characters")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(check_email)]
Secret = Annotated[SecretStr | None, AfterValidator(_check_secret)]
RuleKindName = Literal["enters-top", "leaves-top", "moves", "stops-ranking", "starts-ranking",
                       "unreachable", "content-changed", "digest"]


class AddAlertRule(Command):
    """Raise an alert when a position or a creator changes as the rule says, and send it by
    webhook (JSON POST signed with HMAC-SHA256 of ``secret``) or e-mail.

    ``threshold`` is N for enters-top / leaves-top and K (places) for moves. Position rules
    may be narrowed to a ``domain``, ``keyword``, ``engine`` and ``device``; creator rules
    to a ``creator``. A ``digest`` rule sends the movement summary of a ``schedule``'s run
    once its searches have finished (narrowed like a position rule).

    Example: {"name": "top10", "kind": "enters-top", "threshold": 10, "email": "a@example.com"}
    """

    channel: ClassVar[str] = "alerts:add-rule"
    rate_limit: ClassVar[int | None] = 30
    reply: ClassVar[Any] = Ack
    name: RuleName
    kind: RuleKindName
    threshold: Annotated[int, Field(ge=1, le=1000)] | None = None
    domain: Domain | None = None
    keyword: Keyword | None = None
    engine: Engine | None = None
    device: Device | None = None
    creator: CreatorName | None = None
    schedule: ScheduleName | None = None
    webhook_url: HttpUrl | None = None
    secret: Secret = None
    email: Email | None = None

    @model_validator(mode="after")
    def _coherent(self) -> AddAlertRule:
        kind = RuleKind(self.kind)
        if kind in THRESHOLD_KINDS and self.threshold is None:
            raise ValueError(f"threshold: {kind} needs one (N for the top N, K places for "
                             "moves)")
        if kind not in THRESHOLD_KINDS and self.threshold is not None:
            raise ValueError(f"threshold: {kind} takes none")
        if kind in CREATOR_KINDS:
            for name in ("domain", "keyword", "engine", "device"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: a {kind} rule watches creators, not positions")
        if kind in POSITION_KINDS | DIGEST_KINDS and self.creator is not None:
            raise ValueError(f"creator: a {kind} rule watches positions")
        if (kind in DIGEST_KINDS) != (self.schedule is not None):
            raise ValueError("schedule: a digest rule names the schedule it sums up" if
                             kind in DIGEST_KINDS else f"schedule: only digest rules name "
                             f"a schedule ({kind} watches every search)")
        if (self.webhook_url is None) == (self.email is None):
            raise ValueError("webhook_url: give either a webhook URL or an e-mail address")
        if self.webhook_url is not None and self.secret is None:
            raise ValueError(f"secret: a webhook needs a signing secret ({MIN_SECRET}+ "
                             "characters; the receiver checks the signature with it)")
        if self.email is not None and self.secret is not None:
            raise ValueError("secret: only webhooks are signed")
        return self

    def filters(self) -> dict[str, str | None]:
        """The rule's narrowing filters (None: any)."""
        found = {"domain": self.domain, "keyword": self.keyword, "engine": self.engine,
                 "device": self.device, "creator": self.creator}
        return found | ({"schedule": self.schedule} if self.schedule is not None else {})


class RemoveAlertRule(Command):
    """Stop raising alerts by this rule; its webhook URL and secret are destroyed with its
    data key (alerts raised stay on record; undelivered ones are given up).

    Example: {"name": "top10"}
    """

    channel: ClassVar[str] = "alerts:remove-rule"
    rate_limit: ClassVar[int | None] = 30
    reply: ClassVar[Any] = Ack
    name: RuleName


class ListAlertRules(Command):
    """The alert rules with their alert counts.

    Example: {"include_removed": false}
    """

    channel: ClassVar[str] = "alerts:list-rules"
    include_removed: bool = False


class AlertHistory(Command):
    """Alerts raised, newest first, with their delivery state (of one rule, or all).

    Example: {"rule": "top10", "limit": 20}
    """

    channel: ClassVar[str] = "alerts:history"
    rule: RuleName | None = None
    limit: Annotated[int, Field(ge=1, le=10_000)] = 50


class TestAlert(Command):
    """Raise a test alert on a rule and try to deliver it once, now; the reply says what
    the receiver answered (the attempt is on record like any other).

    Example: {"name": "top10"}
    """

    channel: ClassVar[str] = "alerts:test"
    rate_limit: ClassVar[int | None] = 10
    name: RuleName


class SetMailServer(Command):
    """The SMTP server e-mail alerts go through. ``security``: ``starttls`` (default: the
    connection is upgraded before anything is sent, and refused if the server cannot) or
    ``tls`` (TLS from the first byte, usually port 465). The password is encrypted with
    the mail server's data key. ``ca_file``: a PEM bundle to trust instead of the system's.

    Example: {"host": "smtp.example.com", "port": 587, "sender": "vipb@example.com"}
    """

    channel: ClassVar[str] = "alerts:set-mail-server"
    rate_limit: ClassVar[int | None] = 10
    reply: ClassVar[Any] = Ack
    host: Annotated[str, Field(min_length=1, max_length=253), AfterValidator(rules.check_host)]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls"] = "starttls"
    username: Annotated[str, Field(min_length=1, max_length=255),
                        AfterValidator(rules.check_credential)] | None = None
    password: Annotated[SecretStr, AfterValidator(lambda v: SecretStr(
        rules.check_credential(v.get_secret_value())))] | None = None
    sender: Email
    ca_file: Annotated[str, Field(max_length=4096)] | None = None

    @model_validator(mode="after")
    def _pair(self) -> SetMailServer:
        if (self.username is None) != (self.password is None):
            raise ValueError("password: give both a username and a password, or neither")
        return self


class ShowMailServer(Command):
    """The configured SMTP server (the password is never shown).

    Example: {}
    """

    channel: ClassVar[str] = "alerts:show-mail-server"


ALERT_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls
    for cls in (AddAlertRule, RemoveAlertRule, ListAlertRules, AlertHistory, TestAlert,
                SetMailServer, ShowMailServer)
}
