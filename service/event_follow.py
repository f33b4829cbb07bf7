"""Following committed events in process: what the host's ``events:follow`` stream gives a
client over the socket, for a caller in the runtime's own process (the CLI without a host)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from adapters.store import EventHistory, EventStoreApp, GroupCommitter


def follow_committed(app: EventStoreApp, committer: GroupCommitter, after: int,
                     until: Callable[[dict[str, Any]], bool], timeout: float,
                     poll: float | None = None) -> bool:
    """Decode events committed after notification ``after``, oldest first, into the host
    stream's JSON shape and pass each to ``until``; True once it answers true, False when
    ``timeout`` seconds (may be ``math.inf``) pass first. Woken by each of this process's
    commits; ``poll`` seconds: also look for other processes' commits that often."""
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
            notes = app.event_log.after(position)
            for note in notes:
                if until(history.entry(note).model_dump(mode="json")):
                    return True
                position = note.id
            if notes:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not woken.wait(remaining if poll is None else min(poll, remaining)) \
                    and poll is None:
                return False  # no commit before the deadline
    finally:
        committer.remove_listener(committed)
