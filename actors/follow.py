"""Following what other hosts sharing the store record: which aggregates of some kinds
changed since the last look (by topic: an index range on the notification id)."""

from __future__ import annotations

from collections.abc import Sequence
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
