"""Rotation decisions on record: one ``RotationJournal`` aggregate per UTC day.

A day-sized aggregate keeps loading cheap (only today's events are replayed) while every
pick stays an event: RotationApplied, StickySessionBound, StickySessionExpired, and the
periodic ProxyUsageSummarized that stands in for per-request telemetry. Hosts sharing a store
each keep their own journal per day (``host``): one journal written by several hosts would
turn every pick into a version conflict.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id


def journal_id(day: date, host: str | None = None) -> UUID:
    """The journal of ``day`` (of ``host``, on a shared store)."""
    return RotationJournal.create_id(day.isoformat(), host)


class RotationJournal(Aggregate):
    """The day's record of proxy selections and usage."""

    @staticmethod
    def create_id(day: str, host: str | None = None) -> UUID:
        """One journal per day (and host, when hosts share the store)."""
        return named_id("rotation-journal", day if host is None else f"{day}@{host}")

    @event("RotationJournalOpened")
    def __init__(self, day: str, host: str | None = None) -> None:
        self.day = day
        self.host = host

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
              latency_ms_total: float, latency_samples: int, checks: int = 0,
              checks_failed: int = 0) -> None:
        """Outcomes of one proxy's uses since the previous summary: ``requests`` picks, of
        which ``successes`` and ``failures`` ended with an outcome (an interrupted use has
        none), and ``checks`` health checks apart (``checks_failed`` of them failed).
        Summaries written before 2026-12 counted checks among the successes and failures."""
