"""Caches of named aggregates that follow what other hosts sharing the store record (the
changes come from ``EventLog.follow(...).changed()``)."""

from __future__ import annotations

from typing import Protocol, TypeVar
from uuid import UUID


class _Named(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def name(self) -> str: ...

    @property
    def removed(self) -> bool: ...


N = TypeVar("N", bound=_Named)


def replace_cached(cache: dict[str, N], aggregate_id: UUID, fresh: N | None) -> N | None:
    """Put ``fresh`` (the aggregate as the store has it now) into a cache keyed by
    casefolded name, in place of what it held for ``aggregate_id`` (renamed or not); a
    missing or removed one is dropped. What the cache holds for it now."""
    for name, cached in list(cache.items()):
        if cached.id == aggregate_id:
            del cache[name]
    if fresh is None or fresh.removed:
        return None
    cache[fresh.name.casefold()] = fresh
    return fresh
