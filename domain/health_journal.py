"""Health checks on record: one ``HealthJournal`` aggregate per UTC day.

Validation results of many proxies are recorded by one writer (the health-check actor) in a
few commits, instead of one commit per proxy: ProxyValidated, ProxyValidationFailed and, when
a proxy's status flips, ProxyStatusChanged (each naming its proxy).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.health import HealthReport
from domain.ids import named_id


class HealthJournal(Aggregate):
    """The day's proxy validations."""

    @staticmethod
    def create_id(day: str, host: str | None = None) -> UUID:
        """One journal per day (and host, when hosts share the store: each checks and
        records on its own)."""
        return named_id("health-journal", day if host is None else f"{day}@{host}")

    @event("HealthJournalOpened")
    def __init__(self, day: str, host: str | None = None) -> None:
        self.day = day
        self.host = host

    def record(self, proxy_id: str, report: HealthReport, old_status: str) -> str:
        """Record a report (and a status change if any); return the new status."""
        if report.ok:
            self._validated(proxy_id=proxy_id, latency_ms=report.latency_ms,
                            samples=report.samples, exit_ip=report.exit_ip,
                            anonymity=report.anonymity.value,
                            exit_country=report.exit_country)
        else:
            assert report.failure is not None
            self._failed(proxy_id=proxy_id, failure=report.failure.value,
                         message=report.message, http_status=report.http_status)
        new = report.status.value
        if new != old_status:
            reason = ("validation passed" if report.ok
                      else f"validation failed: {report.failure.value if report.failure else ''}")
            self._status_changed(proxy_id=proxy_id, old=old_status, new=new, reason=reason)
        return new

    @event("ProxyValidated")
    def _validated(self, proxy_id: str, latency_ms: float | None, samples: int,
                   exit_ip: str | None, anonymity: str, exit_country: str | None = None) -> None:
        """``exit_country``: where the check URL saw the proxy leave from, when it tells
        (None in events from before exits were read)."""

    @event("ProxyValidationFailed")
    def _failed(self, proxy_id: str, failure: str, message: str,
                http_status: int | None) -> None:
        pass

    @event("ProxyStatusChanged")
    def _status_changed(self, proxy_id: str, old: str, new: str, reason: str) -> None:
        pass
