"""Proxy selection: the candidate pool with its availability index, and the strategies.

Every structure here is incremental so that a pick costs O(1) or O(log n) at 100,000 proxies:
strategies subscribe to pool changes instead of scanning the pool on every selection.
"""

from domain.selection.context import SelectionContext
from domain.selection.pool import (
    Candidate,
    CandidatePool,
    CountryView,
    NoProxyAvailableError,
    NoProxyInCountryError,
)
from domain.selection.strategy import Selection, Strategy

__all__ = [
    "Candidate",
    "CandidatePool",
    "CountryView",
    "NoProxyAvailableError",
    "NoProxyInCountryError",
    "Selection",
    "SelectionContext",
    "Strategy",
]
