"""Rotation decisions on record: one ``RotationJournal`` aggregate per UTC day.

A day-sized aggregate keeps loading cheap (only today's events are replayed) while every
pick stays an event: RotationApplied, StickySessionBound, StickySessionExpired, and the
periodic ProxyUsageSummarized that stands in for per-request telemetry.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id


def journal_id(day: date) -> UUID:
    """The journal of ``day``."""
    return named_id("rotation-journal", day.isoformat())


class RotationJournal(Aggregate):
    """The day's record of proxy selections and usage."""

    @staticmethod
    def create_id(day: str) -> UUID:
        """One journal per day."""
        return named_id("rotation-journal", day)

    @event("RotationJournalOpened")
    def __init__(self, day: str) -> None:
        self.day = day

    @event("RotationApplied")
    def applied(self, proxy_id: str, strategy: str, reason: str,
                context: dict[str, str]) -> None:
        """A proxy was selected."""

    @event("StickySessionBound")
    def bound(self, key: str, proxy_id: str, ttl_seconds: float) -> None:
        """A session key was (re)bound to a proxy."""

    @event("StickySessionExpired")
    def expired(self, key: str, proxy_id: str) -> None:
        """A session binding lapsed after its ttl without use."""

    @event("ProxyUsageSummarized")
    def usage(self, proxy_id: str, requests: int, successes: int, failures: int,
              latency_ms_total: float, latency_samples: int) -> None:
        """Outcomes of one proxy's uses since the previous summary."""
