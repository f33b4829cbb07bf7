"""A change queued without waiting (an attempt's start, stored while its page loads): the
next change waits for it and is never stored before it, a refused one stops what follows
with its own error, and a job's last queued change is stored before its task ends."""

from __future__ import annotations

import concurrent.futures
import threading
import uuid
from typing import Any

import pytest

from actors.cancel import CancelToken
from actors.claims import ClaimHolder, ClaimLost
from actors.task_runner import TaskRunner
from adapters.store import Pending
from domain.errors import ConcurrencyError, DatabaseError
from domain.rank import SearchTask
from tests.helpers import GatedWriter, MemoryWriter


def _task(writer: GatedWriter) -> SearchTask:
    """A task on record (saved past the gate)."""
    task = SearchTask(id=uuid.uuid4(), keyword="k", engine="bing", country=None, depth=10,
                      domains={"example.com": True}, origin="manual", profile="default",
                      proxy="direct")
    MemoryWriter.submit(writer, Pending(), task)
    return task


def _started(t: SearchTask) -> None:
    t.started(attempt=1, proxy_id=None, tab_id="", exit_country=None, exit_basis="unknown",
              fetch="http", profile_id=None)


def _done(t: SearchTask) -> None:
    t.completed(results_scanned=0, pages=1, ranked=0, features={}, layout="x",
                no_results=True, evidence=[], definition="v", notices=[])


def _names(writer: MemoryWriter) -> list[str]:
    """What was stored after the task itself."""
    return [type(e).__name__ for e in writer.events[1:]]


def _in_thread(work: Any) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


def test_a_queued_change_is_stored_before_the_next_and_does_not_hold_its_caller() -> None:
    writer = GatedWriter()
    holder = ClaimHolder(_task(writer), writer, None)
    holder.queue(_started)  # returns with the save still waiting
    assert _names(writer) == [] and len(writer.waiting) == 1
    thread, raised = _in_thread(lambda: holder.commit(_done))
    thread.join(0.2)
    assert thread.is_alive(), "the outcome waits for the start"
    assert len(writer.waiting) == 1, "and is not even submitted before it is stored"
    writer.let()
    writer.let()
    thread.join(30)
    assert not raised
    assert _names(writer) == ["SearchTaskStarted", "SearchTaskCompleted"]


@pytest.mark.parametrize(("refusal", "raised_as"), [
    (ConcurrencyError("another writer changed it"), ClaimLost),
    (DatabaseError("event store write failed: disk full"), DatabaseError),
])
def test_a_refused_queued_change_stops_what_follows_with_its_error(
        refusal: BaseException, raised_as: type[BaseException]) -> None:
    writer = GatedWriter()
    holder = ClaimHolder(_task(writer), writer, None)
    holder.queue(_started)
    writer.let(refusal)
    with pytest.raises(raised_as):
        holder.commit(_done)
    assert _names(writer) == [] and writer.waiting == []  # the outcome was never sent
    assert holder.lost is (raised_as is ClaimLost)


def test_a_jobs_last_queued_change_is_stored_before_its_task_ends() -> None:
    writer = GatedWriter()
    task = _task(writer)

    def job(holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        holder.queue(_started)  # and returns without waiting

    runner = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task", lambda t: str(t.id))
    runner.submit(task)
    (done,) = runner.completion([str(task.id)])
    assert not done.wait(0.2), "not ended while its start is unsaved"
    writer.let()
    assert done.wait(30)
    assert _names(writer)[-1] == "SearchTaskStarted"
    runner.close()


def test_the_next_task_starts_while_an_outcome_is_stored_and_done_waits_for_it() -> None:
    writer = GatedWriter()
    first, second = _task(writer), _task(writer)
    ran: list[str] = []
    second_ran = threading.Event()

    def job(holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        ran.append(str(holder.task.id))
        if holder.task.id == second.id:
            second_ran.set()
        holder.queue(_done)  # the outcome, not waited for

    runner = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task", lambda t: str(t.id))
    runner.submit(first)
    runner.submit(second)
    done_first, done_second = runner.completion([str(first.id), str(second.id)])
    # one worker: the second runs while the first's outcome still waits to be stored
    assert second_ran.wait(30)
    assert not done_first.is_set() and not done_second.is_set()
    assert runner.counts() == (0, 2)
    writer.let()  # the first's outcome
    assert done_first.wait(30) and not done_second.is_set()
    writer.let()
    assert done_second.wait(30)
    assert ran == [str(first.id), str(second.id)]
    assert _names(writer)[1:] == ["SearchTaskCompleted", "SearchTaskCompleted"]
    runner.close()


def test_a_job_that_fails_after_queueing_still_has_its_change_stored_before_it_ends() -> None:
    writer = GatedWriter()
    task = _task(writer)

    def job(holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        holder.queue(_started)
        raise RuntimeError("a bug after the start was queued")

    runner = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task", lambda t: str(t.id))
    runner.submit(task)
    (done,) = runner.completion([str(task.id)])
    assert not done.wait(0.2)
    writer.let()
    assert done.wait(30)
    assert _names(writer) == ["SearchTaskStarted"]
    runner.close()


def test_a_change_queued_after_work_waits_for_it_and_its_slot_goes_on_meanwhile() -> None:
    """An outcome queued after its pages' writes (``queue_after``): the worker's next
    search starts while they are written; nothing is applied or sent before they are done,
    and the change then reads what they gave."""
    writer = GatedWriter()
    first, second = _task(writer), _task(writer)
    page: concurrent.futures.Future[str] = concurrent.futures.Future()
    read: list[str] = []
    second_ran = threading.Event()

    def job(holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        if holder.task.id == second.id:
            second_ran.set()
            return

        def outcome(t: SearchTask) -> None:
            read.append(page.result(0))
            _done(t)
        holder.queue_after([page], outcome)

    runner = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task", lambda t: str(t.id))
    runner.submit(first)
    runner.submit(second)
    done_first, done_second = runner.completion([str(first.id), str(second.id)])
    assert second_ran.wait(30), "one worker: the second ran while the first's page was written"
    assert done_second.wait(30) and not done_first.is_set()
    assert read == [] and writer.waiting == [], "nothing applied or sent before the write"
    page.set_result("a1b2")
    writer.let()
    assert done_first.wait(30)
    assert read == ["a1b2"] and _names(writer)[1:] == ["SearchTaskCompleted"]
    runner.close()


def test_a_commit_after_a_change_queued_after_work_stores_that_change_first() -> None:
    writer = GatedWriter(gating=False)
    holder = ClaimHolder(_task(writer), writer, None)
    page: concurrent.futures.Future[str] = concurrent.futures.Future()
    holder.queue_after([page], _started)
    assert holder.queued and _names(writer) == []
    page.set_result("a1b2")
    holder.commit(_done)
    assert not holder.queued
    assert _names(writer) == ["SearchTaskStarted", "SearchTaskCompleted"]
