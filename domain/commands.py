"""Command models for the ``proxy:*`` channels: validated at the boundary, immutable after.

Every model forbids unknown fields, so a typo is an error naming the field, not a silent no-op.
Credentials are ``SecretStr``: they never show in a repr, a log line or an error message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from domain import rules
from domain.endpoints import endpoint_url
from domain.proxy_lines import MAX_LINE_CHARS
from domain.results import Ack, ProxyRow, ValidationResult
from domain.rotation import StrategyName, validate_params
from domain.selection import Selection


class Protocol(StrEnum):
    """The proxy protocols Chromium can speak."""

    HTTP = "http"
    HTTPS = "https"
    SOCKS4 = "socks4"
    SOCKS5 = "socks5"


Host = Annotated[str, AfterValidator(rules.check_host)]
Port = Annotated[int, Field(ge=1, le=65535, strict=False)]
Label = Annotated[str, AfterValidator(rules.check_text)]
Tag = Annotated[str, Field(min_length=1), AfterValidator(lambda v: rules.check_text(v, max_len=40))]
Country = Annotated[str, AfterValidator(rules.check_country)]
Region = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
Weight = Annotated[int, Field(ge=1, le=1000)]
Concurrency = Annotated[int, Field(ge=1, le=1000)]


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        rules.check_credential(value.get_secret_value())
    return value


Credential = Annotated[SecretStr | None, AfterValidator(_check_secret)]


class Command(BaseModel):
    """Base of every command: frozen, strict about unknown fields. Each one declares, in this
    one place, its channel, its rate limit (calls per client in 60 s; None: unlimited) and the
    type of its reply's data (revived from JSON by callers over the socket; None: plain JSON).
    """

    # defer_build: a command's validator is built when it is first used, not when its
    # module is imported (a CLI process uses one of ~80; building them all took ~70 ms of
    # its ~2 s start)
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False,
                              defer_build=True)
    channel: ClassVar[str]
    rate_limit: ClassVar[int | None] = None
    reply: ClassVar[Any] = None


class AddProxy(Command):
    """Add a proxy to the pool.

    Example: {"protocol": "socks5", "host": "10.0.0.7", "port": 1080, "country": "DE"}
    """

    channel: ClassVar[str] = "proxy:add"
    rate_limit: ClassVar[int | None] = 10
    reply: ClassVar[Any] = Ack
    protocol: Protocol
    host: Host
    port: Port
    username: Credential = None
    password: Credential = None
    label: Label | None = None
    country: Country | None = None
    region: Region | None = None
    weight: Weight = 1
    max_concurrency: Concurrency = 10
    tags: tuple[Tag, ...] = Field(default=(), max_length=20)

    @model_validator(mode="after")
    def _credentials_pair(self) -> AddProxy:
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self

    def endpoint(self) -> str:
        """Protocol, host and port as a URL without credentials, for messages."""
        return endpoint_url(self.protocol.value, self.host, self.port)


class ProxyRef(Command):
    """A command that targets one proxy by id."""

    proxy_id: UUID


class RemoveProxy(ProxyRef):
    """Remove a proxy and destroy its credentials' data key (crypto-shredding).

    Example: {"proxy_id": "0b5a7c4e-8d0e-4a3b-9c57-1f2e3d4c5b6a"}
    """

    channel: ClassVar[str] = "proxy:remove"
    rate_limit: ClassVar[int | None] = 20
    reply: ClassVar[Any] = Ack


class UpdateProxy(ProxyRef):
    """Change some fields of a proxy; unset fields stay as they are.

    Example: {"proxy_id": "0b5a7c4e-8d0e-4a3b-9c57-1f2e3d4c5b6a", "weight": 5, "tags": ["dc"]}
    """

    channel: ClassVar[str] = "proxy:update"
    reply: ClassVar[Any] = Ack
    protocol: Protocol | None = None
    host: Host | None = None
    port: Port | None = None
    username: Credential = None
    password: Credential = None
    clear_credentials: bool = False
    label: Label | None = None
    country: Country | None = None
    region: Region | None = None
    weight: Weight | None = None
    max_concurrency: Concurrency | None = None
    tags: tuple[Tag, ...] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateProxy:
        changed = self.model_fields_set - {"proxy_id"}
        if not changed:
            raise ValueError("nothing to update: give at least one field")
        if self.clear_credentials and (self.username or self.password):
            raise ValueError("clear_credentials cannot be combined with username/password")
        return self

    def plain_changes(self) -> dict[str, Any]:
        """The non-credential fields that were set, as JSON-ready values."""
        skip = {"proxy_id", "username", "password", "clear_credentials"}
        data: dict[str, Any] = {}
        for name in self.model_fields_set - skip:
            value = getattr(self, name)
            if isinstance(value, Protocol):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            data[name] = value
        return data


MAX_BATCH = 1000  # proxies one batch command names


class RemoveProxies(Command):
    """Remove several proxies in one call (one rate-limit unit), each as ``proxy:remove``
    does. Replies ``{"removed": [...], "errors": [{"proxy_id": ..., "error": ...}]}``: an
    id that is gone already is an error of its own, the others are removed.

    Example: {"proxy_ids": ["0b5a7c4e-8d0e-4a3b-9c57-1f2e3d4c5b6a"]}
    """

    channel: ClassVar[str] = "proxy:remove-many"
    rate_limit: ClassVar[int | None] = 20
    proxy_ids: tuple[UUID, ...] = Field(min_length=1, max_length=MAX_BATCH)


class UpdateProxies(Command):
    """Change the same fields of several proxies in one call (fields that may be shared:
    label, country, region, weight, concurrency, tags). Replies ``{"updated": [...],
    "unchanged": [...], "errors": [...]}``.

    Example: {"proxy_ids": ["0b5a7c4e-8d0e-4a3b-9c57-1f2e3d4c5b6a"], "tags": ["dead"]}
    """

    channel: ClassVar[str] = "proxy:update-many"
    rate_limit: ClassVar[int | None] = 20
    proxy_ids: tuple[UUID, ...] = Field(min_length=1, max_length=MAX_BATCH)
    label: Label | None = None
    country: Country | None = None
    region: Region | None = None
    weight: Weight | None = None
    max_concurrency: Concurrency | None = None
    tags: tuple[Tag, ...] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateProxies:
        if not self.model_fields_set - {"proxy_ids"}:
            raise ValueError("nothing to update: give at least one field")
        return self

    def one(self, proxy_id: UUID) -> UpdateProxy:
        """The update of one of the proxies."""
        fields = {name: getattr(self, name) for name in self.model_fields_set - {"proxy_ids"}}
        return UpdateProxy(proxy_id=proxy_id, **fields)


class ListProxies(Command):
    """List proxies from the read model, optionally filtered.

    Example: {"status": "active", "country": "DE"}
    """

    channel: ClassVar[str] = "proxy:list"
    rate_limit: ClassVar[int | None] = 100
    reply: ClassVar[Any] = list[ProxyRow]
    protocol: Protocol | None = None
    status: str | None = Field(default=None, pattern=r"^[a-z_]{1,20}$")
    country: Country | None = None
    tag: Tag | None = None
    limit: int = Field(default=1000, ge=1, le=100_000)


class GetProxy(Command):
    """One proxy from the read model, by its id or a unique prefix of it.

    Example: {"proxy_id": "3f2a"}
    """

    channel: ClassVar[str] = "proxy:get"
    rate_limit: ClassVar[int | None] = 100
    reply: ClassVar[Any] = ProxyRow
    proxy_id: str = Field(pattern=r"^[0-9a-fA-F-]{1,36}$")


class GetRotation(Command):
    """The rotation strategy in force and its parameters (round-robin until one is set).

    Example: {}
    """

    channel: ClassVar[str] = "proxy:get-rotation"
    rate_limit: ClassVar[int | None] = 100


class ValidateProxy(Command):
    """Ask for a health validation of one proxy or of all of them.

    Example: {"all": true, "samples": 3}
    """

    channel: ClassVar[str] = "proxy:validate"
    rate_limit: ClassVar[int | None] = 20
    reply: ClassVar[Any] = list[ValidationResult]
    proxy_id: UUID | None = None
    all: bool = False
    check_url: Annotated[str, AfterValidator(rules.check_http_url)] | None = None
    samples: int = Field(default=3, ge=1, le=20)
    timeout: float = Field(default=10.0, ge=0.1, le=120.0)
    concurrency: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_target(self) -> ValidateProxy:
        if (self.proxy_id is None) == (not self.all):
            raise ValueError("give either proxy_id or all=true")
        return self


class SetRotation(Command):
    """Choose the rotation strategy and its parameters.

    Example: {"strategy": "weighted"}
    """

    channel: ClassVar[str] = "proxy:set-rotation"
    rate_limit: ClassVar[int | None] = 10
    reply: ClassVar[Any] = Ack
    strategy: StrategyName
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _params_dict(cls, value: Any) -> Any:
        if value is None:
            return {}
        return value

    @model_validator(mode="after")
    def _valid_params(self) -> SetRotation:
        object.__setattr__(self, "params", validate_params(self.strategy, self.params))
        return self


class SelectProxy(Command):
    """Pick a proxy for a request with the current strategy (recorded as RotationApplied).

    Example: {"url": "https://example.com/", "country": "DE"}
    """

    channel: ClassVar[str] = "proxy:select"
    reply: ClassVar[Any] = Selection
    url: Annotated[str, AfterValidator(rules.check_http_url)] | None = None
    domain: Host | None = None
    country: Country | None = None


class ImportProxies(Command):
    """Add many proxies from pasted lines (URL, host:port, host:port:user:pass) in one call:
    one rate-limit unit, per-line errors reported, the valid lines added. A proxy is its
    protocol, host, port and username (a gateway that pins sessions by username is one proxy
    per username); with ``upsert`` a line naming a proxy already in the pool updates its
    password instead of failing.

    Example: {"lines": ["socks5://user:pw@10.0.0.7:1080", "10.0.0.8:3128"], "upsert": true}
    """

    channel: ClassVar[str] = "proxy:import"
    rate_limit: ClassVar[int | None] = 10
    lines: tuple[Annotated[str, Field(max_length=MAX_LINE_CHARS)], ...] = Field(
        max_length=100_000)
    protocol: Protocol = Protocol.HTTP
    upsert: bool = False


PROXY_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls
    for cls in (AddProxy, RemoveProxy, UpdateProxy, ListProxies, ValidateProxy, SetRotation,
                SelectProxy, ImportProxies, GetProxy, GetRotation, RemoveProxies, UpdateProxies)
}
