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
    anonymity: str | None = None
    position: int = 0
