"""Following committed events in process: what the host's ``events:follow`` stream gives a
client over the socket, for a caller in the runtime's own process (the CLI without a host)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from adapters.store import BATCH, EventHistory, EventStoreApp, GroupCommitter, topics_of
from domain.errors import ValidationError
from domain.events import EVENT_NAME, events_named

MAX_NAMES = 100


@functools.lru_cache(maxsize=64)
def _topics(names: frozenset[str]) -> tuple[str, ...]:
    """The stored topics of the events called ``names``."""
    return tuple(topics_of(events_named(names)))


def event_names(value: object, field: str = "events") -> frozenset[str] | None:
    """A follower's ``events`` filter (event names such as ``SearchTaskCompleted``), checked;
    None: every event."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not 0 < len(value) <= MAX_NAMES \
            or not all(isinstance(v, str) and EVENT_NAME.fullmatch(v) for v in value):
        raise ValidationError(f"must be a list of 1 to {MAX_NAMES} event names "
                              "(like SearchTaskCompleted)", field=field)
    names = frozenset(value)
    try:
        _topics(names)  # every name is an event's (and its topics are ready for the reads)
    except LookupError as exc:
        raise ValidationError(str(exc), field=field) from None
    return names


def entries_after(app: EventStoreApp, history: EventHistory, position: int,
                  events: frozenset[str] | None) -> tuple[int, list[dict[str, Any]]]:
    """One read of the log after ``position``: the position read up to, and the events
    read (only ``events``, names, when given) in the host stream's JSON shape. With names,
    only their topics are read (an index range up to the head as it was before the read:
    a follower of rare events does not read the same stretch again at each commit)."""
    log = app.event_log
    if events is None:
        notes = log.after(position)
        return (notes[-1].id if notes else position,
                [history.entry(n).model_dump(mode="json") for n in notes])
    head = log.head()
    if head <= position:
        return position, []
    found = log.select_notifications(position, BATCH, stop=head, topics=_topics(events),
                                     inclusive_of_start=False)
    read_to = found[-1].id if len(found) == BATCH else head
    return read_to, [history.entry(n).model_dump(mode="json") for n in found]


def follow_committed(app: EventStoreApp, committer: GroupCommitter, after: int,
                     until: Callable[[dict[str, Any]], bool], timeout: float,
                     poll: float | None = None,
                     events: Collection[str] | None = None) -> bool:
    """Decode events committed after notification ``after``, oldest first, into the host
    stream's JSON shape and pass each to ``until``; True once it answers true, False when
    ``timeout`` seconds (may be ``math.inf``) pass first. Woken by each of this process's
    commits; ``poll`` seconds: also look for other processes' commits that often;
    ``events``: only events of these names."""
    names = None if events is None else event_names(sorted(events))
    woken = threading.Event()

    def committed(_last: int) -> None:
        woken.set()

    committer.add_listener(committed)
    history = EventHistory(app)
    deadline = time.monotonic() + timeout
    position = after
    try:
        while True:
            woken.clear()  # before reading: a commit after the read wakes the wait below
            read_to, entries = entries_after(app, history, position, names)
            for entry in entries:
                if until(entry):
                    return True
            if read_to != position:
                position = read_to
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not woken.wait(remaining if poll is None else min(poll, remaining)) \
                    and poll is None:
                return False  # no commit before the deadline
    finally:
        committer.remove_listener(committed)
