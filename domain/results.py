"""What a command returns once its events are committed."""

from __future__ import annotations

from pydantic import BaseModel


class Ack(BaseModel):
    """Acknowledgement after commit: the aggregate touched and the last notification id.

    ``position`` is 0 when the command changed nothing (e.g. setting the same value again).
    Wait for the read models to reach ``position`` before reading what the command did.
    """

    id: str
    position: int
    changed: bool = True

    @classmethod
    def of(cls, aggregate_id: object, ids: list[int]) -> Ack:
        """The acknowledgement of saving ``aggregate_id`` with notification ``ids`` (none:
        nothing changed)."""
        return cls(id=str(aggregate_id), position=ids[-1] if ids else 0, changed=bool(ids))


class ValidationResult(BaseModel):
    """One proxy's validation outcome as the CLI and the socket report it."""

    id: str
    endpoint: str
    status: str
    latency_ms: float | None = None
    failure: str | None = None
    message: str = ""
    http_status: int | None = None
    exit_ip: str | None = None
    exit_country: str | None = None  # when the check URL tells
    anonymity: str | None = None
    position: int = 0


class ProxyRow(BaseModel):
    """A row of ``proxies`` (the read model), as ``proxy:list`` returns it."""

    id: str
    protocol: str
    host: str
    port: int
    has_credentials: bool
    label: str | None
    country: str | None
    region: str | None = None
    weight: int
    max_concurrency: int
    tags: list[str]
    status: str
    latency_ms: float | None
    success_rate: float | None
    outcomes_ok: int = 0
    outcomes_failed: int = 0
    exit_ip: str | None = None  # what the last validation saw
    exit_country: str | None = None  # where validations saw it leave from (check URL told)
    created_at: str
    updated_at: str
