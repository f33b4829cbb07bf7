"""Following what other hosts sharing the store record: which aggregates of some kinds
changed since the last look (by topic: an index range on the notification id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar
from uuid import UUID

from domain.ids import as_uuid
from projections.runner import EventSource


class ChangedSince:
    """The ids of aggregates with events of ``topics`` committed since the last ``take``
    (from the store head when created: what an actor loaded then is current)."""

    def __init__(self, source: EventSource, topics: Sequence[str]) -> None:
        self._source = source
        self._topics = list(topics)
        self._seen = source.max_notification_id() or 0

    def take(self) -> list[UUID]:
        """Changed aggregates, each once, in the order of their first change."""
        changed: dict[UUID, None] = {}
        while notes := self._source.select_notifications(
                start=self._seen, limit=500, topics=self._topics, inclusive_of_start=False):
            self._seen = notes[-1].id
            changed.update(dict.fromkeys(as_uuid(n.originator_id) for n in notes))
        return list(changed)


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
