"""Scheduled creator checks as tasks on record, in real Chromium against a local profile
page: queued with the schedule's run, checked once and finished with the creator's
``CreatorChecked``, passed over by the next run while still pending, resumed after a
restart with its attempts counted on; and on a PostgreSQL store several hosts share,
claimed: a dead host's check taken over once its lease runs out, a check outlasting its
lease kept by renewals, one of two hosts racing for a check wins, a host whose claim was
taken over mid-check records nothing, and a stopping host lets its check go at once."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pykka
import pytest
from eventsourcing.domain import Aggregate

from actors.claims import Claims
from actors.creator_check import CreatorCheck
from actors.creator_runner import CreatorRunner
from actors.retries import RetryPolicy
from actors.writer import EventWriter
from adapters.store import PostgresBackend
from domain.creator import CreatorCheckTask
from service.runtime import Runtime
from tests.creator_site import Profile, serve_creator
from tests.helpers import call, open_runtime
from tests.pg import BOTH_STORES

FAST = {"search_attempts": 2, "search_retry_initial": 0.05, "search_retry_max": 0.1}
A = TypeVar("A", bound=Aggregate)


@pytest.fixture
def site() -> Iterator[tuple[str, Profile]]:
    with serve_creator() as served:
        yield served


@contextlib.contextmanager
def _runtime(data_dir: Path, **settings: Any) -> Iterator[Runtime]:
    """A runtime on the data dir (fast retries), closed at the end of the block."""
    rt = open_runtime(data_dir, **{**FAST, **settings})
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture(autouse=True)
def _actors() -> Iterator[None]:
    yield
    pykka.ActorRegistry.stop_all()


def _events(rt: Runtime) -> list[dict[str, Any]]:
    """Every event on record, oldest first (the host stream's shape)."""
    seen: list[dict[str, Any]] = []

    def collect(event: dict[str, Any]) -> bool:
        seen.append(event)
        return False

    rt.follow(0, collect, timeout=0)
    return seen


def _wait_for(rt: Runtime, name: str, aggregate: str | None = None, timeout: float = 120,
              **data: Any) -> dict[str, Any]:
    """The first ``name`` event (of ``aggregate``, with ``data``'s values) on record,
    waiting for it to be committed by this process or another."""
    found: list[dict[str, Any]] = []

    def until(event: dict[str, Any]) -> bool:
        if event["event"] == name and aggregate in (None, event["aggregate_id"]) \
                and all(event["data"].get(k) == v for k, v in data.items()):
            found.append(event)
        return bool(found)

    assert rt.follow(0, until, timeout, poll=0.2), f"no {name} within {timeout}s"
    return found[0]


def _add_jane(rt: Runtime, base: str) -> str:
    ack = call(rt, "automation:add-creator", name="jane", url=base + "/@jane")
    return str(ack["id"])


def _left_behind(rt: Runtime, creator_id: str, claimed_by: str | None = None,
                 lease: float = 0.0) -> str:
    """A check as a host that died mid-check left it: queued, its first attempt started,
    claimed by ``claimed_by`` with a lease ending ``lease`` seconds from now."""
    task = CreatorCheckTask(id=uuid.uuid4(), creator_id=creator_id, name="jane",
                            origin="schedule:nightly", profile="default", proxy="direct")
    if claimed_by is not None:
        task.claimed(host_id=claimed_by, previous=None,
                     lease_until=datetime.now(UTC) + timedelta(seconds=lease))
    task.started(attempt=1)
    rt.writer.save(task)
    return str(task.id)


class RacingWriter(EventWriter):
    """A host's real writer that, the first two times it reads a creator check, waits for
    the other host to have read it too: both then claim the same version."""

    def __init__(self, rt: Runtime, meet: threading.Barrier) -> None:
        super().__init__(rt.app, rt.committer)
        self._meet = meet
        self._reads = 0

    def load(self, cls: type[A], aggregate_id: uuid.UUID) -> A | None:
        """Read; the first two reads of a check meet the other host's."""
        found = super().load(cls, aggregate_id)
        if cls is CreatorCheckTask and self._reads < 2:
            self._reads += 1
            self._meet.wait(60)
        return found


def _runner(rt: Runtime, writer: EventWriter) -> CreatorRunner:
    """A creator runner of ``rt``'s parts writing through ``writer``."""
    claims = Claims(rt.settings.host_id, 60.0, candidates=lambda *_: [], pending=lambda _: 0)
    return CreatorRunner(CreatorCheck(rt.tabs, RetryPolicy(2, 0.05, 0.1)), rt.creators,
                         rt.settings.egress_policy(), 1, writer, claims)


def _held_on(rt: Runtime, site: tuple[str, Profile]) -> str:
    """A check ``rt`` runs (its second attempt: one was made before), the page holding its
    answer; its id."""
    base, profile = site
    task_id = _left_behind(rt, _add_jane(rt, base))
    profile.release.clear()
    assert rt.creator_runner.resume([task_id]) == 1
    _wait_for(rt, "CreatorCheckStarted", task_id, attempt=2)
    return task_id


def _history_of(events: list[dict[str, Any]], task_id: str) -> list[str]:
    return [e["event"] for e in events if e["aggregate_id"] == task_id
            and e["event"] != "CreatorCheckLeaseRenewed"]


@BOTH_STORES
def test_a_runs_check_is_queued_with_it_checked_once_and_not_queued_again_while_pending(
        data_dir: Path, site: tuple[str, Profile]) -> None:
    base, profile = site
    with _runtime(data_dir) as rt:
        creator_id = _add_jane(rt, base)
        call(rt, "automation:schedule", name="s", cron="0 6 * * *", creators=["jane"],
             searches=False, proxy="direct")
        profile.release.clear()  # the page holds its answer
        call(rt, "automation:run-schedule", name="s")
        started = _wait_for(rt, "CreatorCheckStarted")
        call(rt, "automation:run-schedule", name="s")  # jane's check is still running
        runs = [e["data"]["creators"] for e in _events(rt)
                if e["event"] == "ScheduleRunOnRequest"]
        assert runs == [["jane"], []]
        profile.release.set()
        task_id = started["aggregate_id"]
        finished = _wait_for(rt, "CreatorCheckFinished", task_id)
        assert finished["data"]["outcome"] == "checked"
        events = _events(rt)
        history = _history_of(events, task_id)
        claims = ["CreatorCheckClaimed"] if isinstance(rt.store, PostgresBackend) else []
        assert history == ["CreatorCheckQueued", *claims, "CreatorCheckStarted",
                           "CreatorCheckFinished"]
        checked = [e for e in events if e["event"] == "CreatorChecked"]
        assert len(checked) == 1 and checked[0]["aggregate_id"] == creator_id
        assert checked[0]["data"]["reachable"] is True
        # the creator's check and the task's end are one commit: adjacent in the log
        assert finished["notification_id"] == checked[0]["notification_id"] + 1
        assert rt.creator_runner.idle(30)
        rt.settle()
        with rt.reader() as conn:
            row = conn.execute("SELECT state, attempts, claimed_by FROM creator_checks "
                               "WHERE id=?", (task_id,)).fetchone()
        assert tuple(row) == ("checked", 1, None)


@BOTH_STORES
def test_a_check_a_stopped_host_left_is_resumed_at_the_next_start(
        data_dir: Path, site: tuple[str, Profile]) -> None:
    base, profile = site
    with _runtime(data_dir) as rt:
        task_id = _left_behind(rt, _add_jane(rt, base))
    assert profile.loads == 0
    with _runtime(data_dir) as rt:
        rt.run_automation()
        assert _wait_for(rt, "CreatorCheckFinished", task_id)["data"]["outcome"] == "checked"
        [checked] = [e for e in _events(rt) if e["event"] == "CreatorChecked"]
        assert checked["data"]["attempts"] == 2  # counted on from the first host's attempt
        assert profile.loads == 1


@BOTH_STORES
def test_a_stopping_host_leaves_its_queued_and_running_checks_to_the_next_start(
        data_dir: Path, site: tuple[str, Profile]) -> None:
    base, profile = site
    names = ["ann", "jane", "joe"]
    with _runtime(data_dir, search_concurrency=1) as rt:
        for name in names:
            call(rt, "automation:add-creator", name=name, url=f"{base}/@{name}")
        call(rt, "automation:schedule", name="s", cron="0 6 * * *", all_creators=True,
             searches=False, proxy="direct")
        profile.release.clear()
        call(rt, "automation:run-schedule", name="s")
        _wait_for(rt, "CreatorCheckStarted")  # one runs, two wait for the worker
        assert rt.creator_runner.active() == 3
    # closed: the running check's load was aborted, the waiting ones dropped
    assert rt.creator_runner.idle(60), "a dropped check still counts as queued"
    profile.release.set()
    with _runtime(data_dir) as rt:
        events = [e["event"] for e in _events(rt)]
        assert events.count("CreatorCheckQueued") == 3 and "CreatorChecked" not in events
        assert "CreatorCheckFinished" not in events
        rt.run_automation()
        finished: set[str] = set()

        def all_finished(event: dict[str, Any]) -> bool:
            if event["event"] == "CreatorCheckFinished":
                finished.add(event["aggregate_id"])
            return len(finished) == 3

        assert rt.follow(0, all_finished, 120, poll=0.2)
        checked = [e["aggregate_id"] for e in _events(rt) if e["event"] == "CreatorChecked"]
        assert len(checked) == 3 and len(set(checked)) == 3  # each creator once


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
class TestOnASharedStore:
    """Two runtimes as hosts ``a`` and ``b`` on one PostgreSQL store."""

    @pytest.fixture
    def hosts(self, data_dir: Path) -> Iterator[tuple[Runtime, Runtime]]:
        with _runtime(data_dir, host_id="a") as a, _runtime(data_dir, host_id="b") as b:
            yield a, b

    def test_a_dead_hosts_check_is_taken_over_once_its_lease_runs_out(
            self, hosts: tuple[Runtime, Runtime], site: tuple[str, Profile]) -> None:
        a, b = hosts
        base, profile = site
        task_id = _left_behind(a, _add_jane(a, base), claimed_by="dead", lease=4.0)
        b.settle()  # (a host's views follow the store; these runtimes settle when asked)
        b.creator_runner.start_scanning()
        claimed = _wait_for(b, "CreatorCheckClaimed", task_id, host_id="b")
        assert claimed["data"]["previous"] == "dead"
        lease_end = datetime.fromisoformat(str(claimed["data"]["lease_until"]))
        assert lease_end > datetime.now(UTC)  # b holds a fresh lease
        assert _wait_for(b, "CreatorCheckFinished", task_id)["data"]["outcome"] == "checked"
        events = _events(b)
        [checked] = [e for e in events if e["event"] == "CreatorChecked"]
        assert checked["data"]["attempts"] == 2
        assert profile.loads == 1
        [first_claim] = [e for e in events if e["event"] == "CreatorCheckClaimed"
                         and e["aggregate_id"] == task_id and e["data"]["host_id"] == "dead"]
        assert claimed["timestamp"] >= first_claim["timestamp"]

    def test_of_two_hosts_racing_for_a_check_one_runs_it(
            self, hosts: tuple[Runtime, Runtime], site: tuple[str, Profile]) -> None:
        a, b = hosts
        base, profile = site
        task_id = _left_behind(a, _add_jane(a, base))
        meet = threading.Barrier(2)  # both hosts have read the unclaimed check: then claim
        runners = [_runner(rt, RacingWriter(rt, meet)) for rt in (a, b)]
        racers = [threading.Thread(target=r.resume, args=([task_id],)) for r in runners]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert all(runner.idle(120) for runner in runners)
        events = _events(a)
        claims = [e["data"]["host_id"] for e in events if e["event"] == "CreatorCheckClaimed"]
        assert len(claims) == 1  # the loser's claim met a version conflict
        assert [e["event"] for e in events].count("CreatorChecked") == 1
        assert profile.loads == 1  # and it left the page alone
        for runner in runners:
            runner.close()

    def test_a_host_whose_claim_was_taken_over_mid_check_records_nothing(
            self, hosts: tuple[Runtime, Runtime], site: tuple[str, Profile]) -> None:
        a, b = hosts
        _base, profile = site
        task_id = _held_on(a, site)
        # b takes the check over, as after a's lease ran out (a stalled, say)
        task = b.writer.load(CreatorCheckTask, uuid.UUID(task_id))
        assert task is not None and task.claimed_by == "a"
        task.claimed(host_id="b", previous="a", lease_until=datetime.now(UTC) +
                     timedelta(seconds=60))
        b.writer.save(task)
        profile.release.set()
        assert a.creator_runner.idle(120)
        assert "CreatorChecked" not in [e["event"] for e in _events(a)]  # a: nothing
        assert b.creator_runner.resume([task_id]) == 1  # b, restarted, runs what it holds
        assert _wait_for(b, "CreatorCheckFinished", task_id)["data"]["outcome"] == "checked"
        assert b.creator_runner.idle(60)
        events = _events(b)
        assert [e["event"] for e in events].count("CreatorChecked") == 1
        assert _history_of(events, task_id)[-3:] == [
            "CreatorCheckClaimed", "CreatorCheckStarted", "CreatorCheckFinished"]  # b's
        assert profile.loads == 2  # a loaded the page too, and recorded nothing of it

    def test_a_stopping_host_lets_its_check_go_and_another_runs_it_at_once(
            self, hosts: tuple[Runtime, Runtime], site: tuple[str, Profile]) -> None:
        a, b = hosts
        _base, profile = site
        task_id = _held_on(a, site)
        a.close()  # its tab closes mid-load
        released = _wait_for(b, "CreatorCheckReleased", task_id)
        assert released["data"] == {"host_id": "a", "reason": "host stopping"}
        assert "CreatorChecked" not in [e["event"] for e in _events(b)]
        profile.release.set()
        b.settle()
        b.creator_runner.start_scanning()  # no lease to wait out
        claimed = _wait_for(b, "CreatorCheckClaimed", task_id, host_id="b")
        assert claimed["data"]["previous"] is None
        assert _wait_for(b, "CreatorCheckFinished", task_id)["data"]["outcome"] == "checked"
        [checked] = [e for e in _events(b) if e["event"] == "CreatorChecked"]
        assert checked["data"]["attempts"] == 3  # a's two attempts counted


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_check_running_longer_than_its_lease_keeps_it_by_renewing(
        data_dir: Path, site: tuple[str, Profile]) -> None:
    base, profile = site
    with _runtime(data_dir, host_id="a", claim_lease=3.0) as a, \
            _runtime(data_dir, host_id="b", claim_lease=3.0) as b:
        task_id = _left_behind(a, _add_jane(a, base))
        profile.release.clear()
        assert a.creator_runner.resume([task_id]) == 1
        claimed = _wait_for(a, "CreatorCheckClaimed", task_id, host_id="a")
        b.settle()
        b.creator_runner.start_scanning()  # b looks every 2 s for checks whose lease ran out
        renewals: list[datetime] = []

        def renewed_past_the_first_lease(event: dict[str, Any]) -> bool:
            if event["event"] == "CreatorCheckLeaseRenewed" and event["aggregate_id"] == task_id:
                renewals.append(datetime.fromisoformat(event["data"]["lease_until"]))
            first_end = datetime.fromisoformat(str(claimed["data"]["lease_until"]))
            return bool(renewals) and datetime.now(UTC) > first_end + timedelta(seconds=3)

        assert a.follow(0, renewed_past_the_first_lease, 60, poll=0.2)
        b.settle()  # b's scanner has seen the renewed leases
        profile.release.set()
        assert _wait_for(a, "CreatorCheckFinished", task_id)["data"]["outcome"] == "checked"
        assert a.creator_runner.idle(60) and b.creator_runner.idle(60)
        claims = [e["data"]["host_id"] for e in _events(a)
                  if e["event"] == "CreatorCheckClaimed" and e["aggregate_id"] == task_id]
        assert claims == ["a"] and len(renewals) >= 2
        assert profile.loads == 1

