"""Waiting for search tasks from the CLI, with progress: through the host's event stream
when a host runs (events after a position taken before the tasks were queued, so none is
missed), else on the in-process tracker's completion events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.runtime import DataPaths, Runtime
from adapters.control import ControlClient

Report = Callable[[int, int], None]


def is_final(event: dict[str, Any]) -> bool:
    """Does this streamed event end a search task?"""
    name = event.get("event")
    if name in ("SearchTaskCompleted", "SearchTaskCancelled"):
        return True
    return name == "SearchTaskFailed" and (event.get("data") or {}).get("retry_in") is None


def follow_events(data_dir: Path, after: int, until: Callable[[dict[str, Any]], bool],
                  timeout: float) -> bool:
    """Stream the host's events from ``after`` until ``until(event)`` is true (True), the
    timeout passes or the host goes away (False)."""
    reached = threading.Event()
    stopped = threading.Event()
    client = ControlClient(DataPaths(data_dir).socket)

    def follow() -> None:
        try:
            for message in client.stream("events:follow", {"after": after}):
                event = message.get("event")
                if event and until(event):
                    reached.set()
                    break
        except (OSError, ValueError):
            pass  # the host stopped or the connection was closed on timeout
        finally:
            stopped.set()

    threading.Thread(target=follow, name="vipb-follow", daemon=True).start()
    stopped.wait(timeout)
    client.close()
    return reached.is_set()


def wait_in_host(data_dir: Path, after: int, task_ids: list[str], timeout: float,
                 report: Report | None) -> bool:
    """Follow the host's events from ``after`` until every task is final (True), the
    timeout passes or the host goes away (False)."""
    pending = set(task_ids)

    def final(event: dict[str, Any]) -> bool:
        if event.get("aggregate_id") in pending and is_final(event):
            pending.discard(event["aggregate_id"])
            if report is not None:
                report(len(task_ids) - len(pending), len(task_ids))
        return not pending

    return follow_events(data_dir, after, final, timeout)


def wait_in_process(rt: Runtime, task_ids: list[str], timeout: float,
                    report: Report | None) -> bool:
    """Wait on the in-process tracker until every task is finished or the timeout passes."""
    deadline = time.monotonic() + timeout
    events = rt.tracker.completion(task_ids).get()
    for finished, event in enumerate(events, start=1):
        if not event.wait(max(0.0, deadline - time.monotonic())):
            return False
        if report is not None:
            report(finished, len(events))
    return True
