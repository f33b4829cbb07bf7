"""Group commit against eventsourcing's in-memory recorder (a real ApplicationRecorder)."""

from __future__ import annotations

import threading
import uuid

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from adapters.store import GroupCommitter
from domain.errors import ConcurrencyError


class GatedRecorder(POPOApplicationRecorder):
    """Holds the first insert until released, so that later submissions pile up."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[int] = []

    def insert_events(self, stored_events, **kwargs):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.gate.wait(10)
        self.calls.append(len(stored_events))
        return super().insert_events(stored_events, **kwargs)


def event(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="t",
                       state=b"x")


def test_waiting_submissions_share_one_transaction_and_get_their_own_ids() -> None:
    recorder = GatedRecorder()
    committer = GroupCommitter(recorder)
    committer.start()
    first = committer.submit([event(uuid.uuid4(), 1)])
    assert recorder.entered.wait(5)
    later = [committer.submit([event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)])
             for _ in range(5)]
    recorder.gate.set()
    assert first.result(5) == [1]
    ids = [f.result(5) for f in later]
    committer.stop()
    assert ids == [[2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert recorder.calls == [1, 10]


def test_a_conflict_fails_only_the_conflicting_submitter() -> None:
    recorder = GatedRecorder()
    committer = GroupCommitter(recorder)
    committer.start()
    taken = uuid.uuid4()
    blocker = committer.submit([event(taken, 1)])
    assert recorder.entered.wait(5)
    ok_before = committer.submit([event(uuid.uuid4(), 1)])
    clash = committer.submit([event(taken, 1)])
    ok_after = committer.submit([event(uuid.uuid4(), 1)])
    recorder.gate.set()
    blocker.result(5)
    assert len(ok_before.result(5)) == 1 and len(ok_after.result(5)) == 1
    with pytest.raises(ConcurrencyError):
        clash.result(5)
    committer.stop()


def test_listeners_hear_the_last_committed_id() -> None:
    recorder = GatedRecorder()
    recorder.gate.set()
    committer = GroupCommitter(recorder)
    heard: list[int] = []
    committer.add_listener(heard.append)
    committer.start()
    committer.commit([event(uuid.uuid4(), 1), event(uuid.uuid4(), 1)])
    committer.stop()
    assert heard == [2]
