"""Rebuild the read models as of a past point of the event log, into a separate file."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Notification

from domain.errors import ValidationError
from projections.runner import EventSource, ProjectionRunner


class UntilSource:
    """The event store seen as if nothing after notification ``until`` had happened."""

    def __init__(self, inner: EventSource, until: int) -> None:
        self._inner = inner
        self._until = until

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None,
        topics: Sequence[str] = (), *, inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The inner store's notifications, none after ``until``."""
        return self._inner.select_notifications(  # ``stop`` is inclusive
            start=start, limit=limit, stop=self._until if stop is None else min(stop, self._until),
            topics=topics, inclusive_of_start=inclusive_of_start)

    def max_notification_id(self) -> int | None:
        """The head, capped at ``until``."""
        head = self._inner.max_notification_id() or 0
        return min(head, self._until)


def position_at(source: EventSource, timestamp_of: Callable[[Notification], datetime | None],
                when: datetime) -> int:
    """The last notification id whose event happened at or before ``when`` (0 if none).

    Events are in commit order; an unreadable (shredded) event takes its predecessor's time.
    """
    position, found = 0, 0
    while True:
        notes = source.select_notifications(start=position, limit=2000,
                                            inclusive_of_start=False)
        if not notes:
            return found
        for note in notes:
            stamp = timestamp_of(note)
            if stamp is not None and stamp > when:
                return found
            found = note.id
        position = notes[-1].id


def replay(source: EventSource, decode: Callable[[Any], dict[str, Any]],
           shredded: type[Exception], until: int, out: Path,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Build every read table as of ``until`` into ``out`` (replaced if it exists)."""
    if until < 0:
        raise ValidationError("must be a notification id >= 0", field="until")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    # owner-only from the first byte: past views hold what the live ones do
    os.close(os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    from projections import ALL_VIEWS  # every view's module, only when one is replayed

    runner = ProjectionRunner(UntilSource(source, until), decode, shredded, out,
                              [v() for v in ALL_VIEWS])
    try:
        return runner.catch_up(progress)
    finally:
        runner.stop()
