"""Waiting for search tasks from the CLI, with progress: on the events committed after a
position taken before the tasks were queued (so none is missed), whether the host or this
process runs them."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from domain.errors import ValidationError
from domain.rank_commands import MAX_RESULTS, GetResults, StopSearch
from entrypoints.cli.context import Commands

Report = Callable[[int, int], None]


# the events that can end a search task (``is_final`` says which do)
ENDINGS = ("SearchTaskCompleted", "SearchTaskCancelled", "SearchTaskFailed")


def is_final(event: dict[str, Any]) -> bool:
    """Does this event end a search task?"""
    name = event.get("event")
    if name in ("SearchTaskCompleted", "SearchTaskCancelled"):
        return True
    return name == "SearchTaskFailed" and (event.get("data") or {}).get("retry_in") is None


def wait_for_tasks(commands: Commands, after: int, task_ids: list[str], timeout: float,
                   report: Report | None) -> bool:
    """Follow events from ``after`` until every task is final (True), the timeout passes or
    the host goes away (False)."""
    pending = set(task_ids)

    def final(event: dict[str, Any]) -> bool:
        if event.get("aggregate_id") in pending and is_final(event):
            pending.discard(event["aggregate_id"])
            if report is not None:
                report(len(task_ids) - len(pending), len(task_ids))
        return not pending

    return not pending or commands.follow(after, final, timeout, ENDINGS)


def results_of(commands: Commands, task_ids: list[str]) -> list[dict[str, Any]]:
    """The outcomes of ``task_ids``, in their order, asked for in pieces ``GetResults``
    accepts (a run of thousands of keywords is read back whole)."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(task_ids), MAX_RESULTS):
        part = tuple(task_ids[start:start + MAX_RESULTS])
        results += commands.execute(GetResults(task_ids=part))
    return results


def interrupted(commands: Commands, task_ids: list[str]) -> str:
    """Ctrl-C while waiting for ``task_ids``: in process, cancel the unfinished ones on
    record (nothing would ever run them); with a host, leave them to it. What to say."""
    if not task_ids:
        return "interrupted: no search was queued"
    if not commands.in_process:
        return (f"interrupted: the {len(task_ids)} search(es) go on in the host; "
                "`vipb rank stop` stops them")
    cancelled = stopping = 0
    for task_id in task_ids:
        try:
            stopped = commands.execute(StopSearch(task_id=task_id))
        except ValidationError:  # it has its outcome already
            continue
        cancelled += len(stopped["cancelled"])
        stopping += len(stopped["stopping"])
    return (f"interrupted: cancelled {cancelled + stopping} unfinished search(es) on record"
            if cancelled + stopping else "interrupted: every search had its outcome")


@contextlib.contextmanager
def held_interrupts() -> Iterator[list[int]]:
    """Hold Ctrl-C (SIGINT) while the block runs; the list yielded says whether one came
    (the caller acts on it once the block is done). The queueing of a run's searches and
    the cancelling of them finish first, so that an interrupted run always knows which
    searches it left: a Ctrl-C while the host was still answering the queueing ended the
    command with 130 and not a word (in process, its searches stayed queued). Outside the
    main thread (no signal handlers there) it holds nothing."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)
