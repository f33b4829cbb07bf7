"""The event log as its readers see it: the one way to follow it.

Every reader of the log goes through ``EventLog``: the projection runner, the followers of
what other hosts record (``Subscription``), `events follow`, the alert courier and the
actors' start-up discovery (``originators``). Readers name the event *classes* they want
(``domain.events.events_of``), never topic strings: ``topics_of`` turns classes into the
topics stored for them, including the names of modules renamed after events were stored
(the stored topic is hashed into the audit chain, so it is never rewritten).

Filtering by topic is an index range on the notification id, and nothing is decrypted
until a reader asks ``decode``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification, StoredEvent
from eventsourcing.utils import get_topic, register_topic

from domain import rank
from domain.events import EventClass
from domain.ids import as_uuid

# Modules renamed after events naming them were stored: old name -> the module now.
RENAMED_MODULES: dict[str, ModuleType] = {"domain.automation": rank}
for _old, _module in RENAMED_MODULES.items():
    register_topic(_old, _module)  # stored old topics resolve to today's classes

BATCH = 500  # notifications per read


def topics_of(events: Iterable[EventClass]) -> list[str]:
    """Every topic stored for these event classes (today's, and under renamed modules)."""
    topics: list[str] = []
    for cls in events:
        topic = get_topic(cls)
        module, _, name = topic.partition(":")
        topics.append(topic)
        topics += [f"{old}:{name}" for old, new in RENAMED_MODULES.items()
                   if new.__name__ == module]
    return topics


class EventLog:
    """The notification log of one store: its head, notifications after a position (of
    some event classes), their decoded states. Also the ``EventSource`` the projection
    runner reads."""

    def __init__(self, recorder: ApplicationRecorder,
                 decode: Callable[[StoredEvent], dict[str, Any]],
                 shredded: type[Exception] = LookupError) -> None:
        """``decode``: a notification's event data (decrypted); it raises ``shredded`` for
        an event whose data key was destroyed."""
        self._recorder = recorder
        self._decode = decode
        self._shredded = shredded

    def head(self) -> int:
        """The id of the last committed notification (0 for an empty log)."""
        return self._recorder.max_notification_id() or 0

    def max_notification_id(self) -> int | None:
        """``head`` as eventsourcing's recorders say it (None for an empty log)."""
        return self._recorder.max_notification_id()

    def after(self, position: int, events: Sequence[EventClass] | None = None,
              limit: int = BATCH) -> list[Notification]:
        """Up to ``limit`` notifications after ``position``, of ``events`` only when given,
        oldest first."""
        return self._after_topics(position, topics_of(events) if events else (), limit)

    def _after_topics(self, position: int, topics: Sequence[str],
                      limit: int) -> list[Notification]:
        return list(self._recorder.select_notifications(
            start=position, limit=limit, topics=topics, inclusive_of_start=False))

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        """eventsourcing's read, for the projection runner and the audit chain."""
        return self._recorder.select_notifications(
            start=start, limit=limit, stop=stop, topics=topics,
            inclusive_of_start=inclusive_of_start)

    def originator_at(self, notification_id: int) -> UUID | None:
        """Whose event is stored at ``notification_id`` (None: no event there)."""
        notes = self.select_notifications(notification_id, 1)
        if not notes or notes[0].id != notification_id:
            return None
        return as_uuid(notes[0].originator_id)

    def decode(self, note: StoredEvent) -> dict[str, Any]:
        """The event data of a notification (raises for a shredded one)."""
        return self._decode(note)

    def follow(self, events: Sequence[EventClass] | None,
               position: int | None = None) -> Subscription:
        """A subscription to ``events`` (all when None) from ``position`` (default: the
        head now, i.e. what is committed from here on)."""
        return Subscription(self, events, self.head() if position is None else position)

    def scan(self, events: Sequence[EventClass]) -> Iterator[Notification]:
        """Every stored notification of ``events``, oldest first."""
        subscription = self.follow(events, 0)
        while batch := subscription.take(5000):
            yield from batch

    def originators(self, created: EventClass,
                    ended: Sequence[EventClass] = ()) -> list[UUID]:
        """Ids of the aggregates that have a ``created`` event and none of ``ended``, in
        the order they were created (from topics alone: nothing is decrypted)."""
        created_topics = set(topics_of([created]))
        alive: dict[UUID, None] = {}
        gone: set[UUID] = set()
        for note in self.scan([created, *ended]):
            oid = as_uuid(note.originator_id)
            if note.topic in created_topics:
                alive.setdefault(oid, None)
            else:
                gone.add(oid)
        return [oid for oid in alive if oid not in gone]

    def states(self, event: EventClass) -> Iterator[dict[str, Any]]:
        """The decoded data of every stored ``event``, oldest first; events whose data key
        was destroyed (crypto-shredded) are skipped."""
        for note in self.scan([event]):
            try:
                yield self._decode(note)
            except self._shredded:
                continue


class Subscription:
    """Notifications of some event classes after a tracked position: each ``take`` gives
    what was committed since the last one. Safe to use from one thread at a time; the
    position may be read from any."""

    def __init__(self, log: EventLog, events: Sequence[EventClass] | None,
                 position: int) -> None:
        self._log = log
        self._topics = topics_of(events) if events else ()  # once, not at every look
        self.position = position
        self._advanced = threading.Condition()

    def take(self, limit: int = BATCH) -> list[Notification]:
        """The next notifications (up to ``limit``); the position moves past them."""
        notes = self._log._after_topics(self.position, self._topics, limit)
        if notes:
            self.advance(notes[-1].id)
        return notes

    def changed(self) -> list[UUID]:
        """Aggregates with events committed since the last look, each once, in the order of
        their first change."""
        changed: dict[UUID, None] = {}
        while notes := self.take():
            changed.update(dict.fromkeys(as_uuid(n.originator_id) for n in notes))
        return list(changed)

    def advance(self, position: int) -> None:
        """Move the position to ``position`` (never back); wakes ``wait_for``."""
        with self._advanced:
            self.position = max(self.position, position)
            self._advanced.notify_all()

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the position has reached ``position`` (False after ``timeout``)."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self.position >= position, timeout)
