"""Following committed events in process: what the host's ``events:follow`` stream gives a
client over the socket, for a caller in the runtime's own process (the CLI without a host)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from adapters.store import EventHistory, EventStoreApp, GroupCommitter


def follow_committed(app: EventStoreApp, committer: GroupCommitter, after: int,
                     until: Callable[[dict[str, Any]], bool], timeout: float) -> bool:
    """Decode events committed after notification ``after``, oldest first, into the host
    stream's JSON shape and pass each to ``until``; True once it answers true, False when
    ``timeout`` seconds pass first. Woken by each commit, never by polling alone."""
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
            notes = app.recorder.select_notifications(start=position, limit=500,
                                                      inclusive_of_start=False)
            for note in notes:
                if until(history.entry(note).model_dump(mode="json")):
                    return True
                position = note.id
            if notes:
                continue
            if not woken.wait(max(0.0, deadline - time.monotonic())):
                return False  # no commit before the deadline
    finally:
        committer.remove_listener(committed)
