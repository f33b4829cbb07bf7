"""Proxy health: what a validation found, and the status it implies."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ProxyStatus(StrEnum):
    """A proxy's health status in the read model."""

    UNKNOWN = "unknown"
    ACTIVE = "active"
    FAILED = "failed"


class Failure(StrEnum):
    """Why a validation failed; each maps to a distinct symptom."""

    AUTH = "auth"  # 407 from an HTTP proxy, or SOCKS username/password refused
    TIMEOUT = "timeout"  # no connection or no complete answer in time
    REFUSED = "refused"  # the proxy port refused or reset the connection
    GARBAGE = "garbage"  # the answer is not HTTP
    DROPPED = "dropped"  # the connection closed in the middle of the response
    BAD_STATUS = "bad_status"  # the proxy or the target answered with an error status
    PROXY_ERROR = "proxy_error"  # any other protocol-level refusal by the proxy


class Anonymity(StrEnum):
    """What the check endpoint saw of the client through the proxy."""

    TRANSPARENT = "transparent"  # the client's own address reached the target
    ANONYMOUS = "anonymous"  # the proxy announced itself but hid the client address
    ELITE = "elite"  # no sign of a proxy in the request
    UNKNOWN = "unknown"  # the check URL does not echo the request


class HealthReport(BaseModel):
    """One proxy's validation: median latency over the samples, or the failure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool
    latency_ms: float | None = None
    samples: int = Field(default=0, ge=0)
    failure: Failure | None = None
    message: str = ""
    http_status: int | None = None
    exit_ip: str | None = None
    exit_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    anonymity: Anonymity = Anonymity.UNKNOWN

    @property
    def status(self) -> ProxyStatus:
        """The status this report implies."""
        return ProxyStatus.ACTIVE if self.ok else ProxyStatus.FAILED


def blame_target(direct_problem: str | None, reports: Mapping[str, HealthReport]) -> str | None:
    """Why the check target, not the proxies, is to blame for a validation in which no
    proxy got through (None when the proxies are to blame, or some got through): the
    target also failed a direct request, or it answered every proxy with the same error."""
    if not reports or any(r.ok for r in reports.values()):
        return None
    if direct_problem is not None:
        return f"a direct request to it failed too ({direct_problem})"
    outcomes = {(r.failure, r.http_status) for r in reports.values()}
    if len(reports) >= 2 and len(outcomes) == 1:
        failure, status = outcomes.pop()
        if failure is Failure.BAD_STATUS:
            return f"it answered all {len(reports)} proxies with HTTP {status}"
    return None
