"""``RetryPolicy``: how often and how patiently a task's attempts are retried (searches and
creator checks alike; tenacity does the waiting)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a search is retried."""

    attempts: int
    initial: float  # seconds before the first retry
    maximum: float  # cap on any single wait
    jitter: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the host settings ask for (``VIPB_SEARCH_*``)."""
        return cls(attempts=settings.search_attempts, initial=settings.search_retry_initial,
                   maximum=settings.search_retry_max)
