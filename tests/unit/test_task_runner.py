"""The task runner alone, on the in-memory writer, with a job the test holds and releases:
the worker cap, one queue for every caller, taking queued tasks back, cancelling running
ones, completion events, and a stop that interrupts what runs and leaves the rest pending."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from actors.cancel import CancelToken
from actors.claims import ClaimHolder
from actors.task_runner import TaskRunner
from domain.rank import SearchTask
from tests.helpers import MemoryWriter


class HeldJob:
    """Each task waits until released or cancelled, then records its outcome."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        try:
            while not self.release.is_set() and not token.is_set:
                token.sleep(0.05)
            if token.is_set:
                holder.commit(lambda t: t.cancelled(reason=token.reason)
                              if not token.interrupted else None)
            else:
                holder.commit(lambda t: t.completed(
                    results_scanned=0, pages=1, ranked=0, features={}, layout="x",
                    no_results=True, evidence=[], definition="v", notices=[]))
        finally:
            with self._lock:
                self.running -= 1


def _task(origin: str = "manual") -> SearchTask:
    return SearchTask(id=uuid.uuid4(), keyword="k", engine="bing", country=None, depth=10,
                      domains={"example.com": True}, origin=origin, profile="default",
                      proxy="direct")


@pytest.fixture
def job() -> Iterator[HeldJob]:
    j = HeldJob()
    yield j
    j.release.set()


@pytest.fixture
def writer() -> MemoryWriter:
    return MemoryWriter()


def _runner(writer: MemoryWriter, job: HeldJob, workers: int = 2) -> TaskRunner[SearchTask]:
    return TaskRunner(SearchTask, job, writer, workers, "vipb-test-task",
                      lambda t: f"task {t.id}")


def _saved(writer: MemoryWriter, n: int) -> list[SearchTask]:
    tasks = [_task() for _ in range(n)]
    writer.save(*tasks)
    return tasks


def test_at_most_workers_run_and_the_queue_drains_in_order(writer: MemoryWriter,
                                                           job: HeldJob) -> None:
    runner = _runner(writer, job)
    tasks = _saved(writer, 5)
    assert all(runner.submit(t) for t in tasks)
    assert not runner.submit(tasks[0]), "a task the runner has is not queued twice"
    for _ in range(2):
        assert job.started.acquire(timeout=30)
    assert runner.counts() == (3, 2)
    done = runner.completion([str(t.id) for t in tasks])
    job.release.set()
    assert runner.idle(30)
    assert all(e.is_set() for e in done)
    assert job.most == 2
    assert len(writer.named("SearchTaskCompleted")) == 5



def test_a_worker_thread_takes_the_next_task_and_ends_once_the_runner_stops(
        writer: MemoryWriter) -> None:
    ran_on: list[threading.Thread] = []  # (the objects: an ended thread's id is reused)
    job_names: list[str] = []

    def job(holder: ClaimHolder[SearchTask], _token: CancelToken) -> None:
        ran_on.append(threading.current_thread())
        job_names.append(threading.current_thread().name)
        holder.commit(lambda t: t.cancelled(reason="done"))

    runner: TaskRunner[SearchTask] = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task",
                                                lambda t: f"task {t.id}")
    tasks = _saved(writer, 4)
    for t in tasks:
        runner.submit(t)
    assert runner.idle(30)
    worker = ran_on[0]
    assert all(t is worker for t in ran_on), "one slot: each task ran where the last one did"
    assert job_names == [f"vipb-test-task-{str(t.id)[:8]}" for t in tasks]
    runner.close()
    worker.join(30)
    assert not worker.is_alive(), "a stopped runner's waiting threads end"


def test_queued_tasks_are_taken_back_and_running_ones_cancelled(writer: MemoryWriter,
                                                                job: HeldJob) -> None:
    runner = _runner(writer, job, workers=1)
    first, second, third = _saved(writer, 3)
    for t in (first, second, third):
        runner.submit(t)
    assert job.started.acquire(timeout=30)
    done = runner.completion([str(second.id)])[0]
    recorded: list[bool] = []

    def record(task: SearchTask) -> None:
        recorded.append(done.is_set())
        task.cancelled(reason="stopped by request before it ran")
        writer.save(task)

    taken = runner.unqueue(str(second.id), record)
    assert [t.id for t in taken] == [second.id]
    assert recorded == [False], "the cancellation is on record before completion is told"
    assert done.is_set()
    assert runner.cancel(None, "stopped by request") == [str(first.id)]
    assert job.started.acquire(timeout=30), "the next queued task starts"
    job.release.set()
    assert runner.idle(30)
    assert [e.originator_id for e in writer.named("SearchTaskCancelled")] == [second.id,
                                                                              first.id]
    assert [e.originator_id for e in writer.named("SearchTaskCompleted")] == [third.id]


def test_close_interrupts_running_tasks_and_leaves_queued_ones_pending(
        writer: MemoryWriter, job: HeldJob) -> None:
    runner = _runner(writer, job, workers=1)
    running, queued = _saved(writer, 2)
    runner.submit(running)
    runner.submit(queued)
    assert job.started.acquire(timeout=30)
    runner.close()
    assert runner.counts() == (0, 0)
    assert not runner.submit(_task()), "a stopped runner takes nothing"
    assert writer.named("SearchTaskCompleted") == []
    assert writer.named("SearchTaskCancelled") == [], "interrupted: still pending on record"
    reloaded = writer.load(SearchTask, queued.id)
    assert reloaded is not None and not reloaded.finished


def test_resume_loads_unfinished_tasks_and_passes_over_finished_ones(
        writer: MemoryWriter, job: HeldJob) -> None:
    runner = _runner(writer, job)
    pending, finished = _saved(writer, 2)
    finished.cancelled(reason="x")
    writer.save(finished)
    job.release.set()
    assert runner.resume([str(pending.id), str(finished.id), str(uuid.uuid4())]) == 1
    assert runner.idle(30)
    assert [e.originator_id for e in writer.named("SearchTaskCompleted")] == [pending.id]



def test_a_task_cancelled_before_its_job_starts_still_reaches_its_job(
        writer: MemoryWriter) -> None:
    """A stop-search that lands between the thread's start and the job must not leave the
    task pending: the job sees the token and records the cancellation."""
    seen: list[bool] = []

    def job(holder: ClaimHolder[SearchTask], token: CancelToken) -> None:
        seen.append(token.is_set)
        holder.commit(lambda t: t.cancelled(reason=token.reason))

    def describe(task: SearchTask) -> str:  # runs in the task's thread, before the job
        runner.cancel(str(task.id), "stopped by request")
        return f"task {task.id}"

    runner: TaskRunner[SearchTask] = TaskRunner(SearchTask, job, writer, 1, "vipb-test-task",
                                                describe)
    [task] = _saved(writer, 1)
    runner.submit(task)
    assert runner.idle(30)
    assert seen == [True]
    [cancelled] = writer.named("SearchTaskCancelled")
    assert cancelled.originator_id == task.id
