"""Group commit on a real SQLite file: batching, per-submitter ids, conflicts isolated."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.store import GroupCommitter
from domain.errors import ConcurrencyError


class GatedCommitter(GroupCommitter):
    """Holds its first transaction until released, so that later submissions pile up."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.sizes: list[int] = []

    def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
        self.entered.set()
        self.gate.wait(10)
        self.sizes.append(len(events))
        return super()._insert(events)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "events.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
                 "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    conn.close()
    return path


def event(originator: uuid.UUID, version: int = 1, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic=topic,
                       state=b"x")


def test_waiting_submissions_share_one_transaction_and_get_their_own_ids(db: Path) -> None:
    committer = GatedCommitter(db)
    committer.start()
    first = committer.submit([event(uuid.uuid4())])
    assert committer.entered.wait(5)
    later = [committer.submit([event(uuid.uuid4()), event(uuid.uuid4())]) for _ in range(5)]
    committer.gate.set()
    assert first.result(5) == [1]
    ids = [f.result(5) for f in later]
    committer.stop()
    assert ids == [[2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert committer.sizes == [1, 10]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == 11
    conn.close()


def test_a_conflict_fails_only_the_conflicting_submitter(db: Path) -> None:
    committer = GatedCommitter(db)
    committer.start()
    taken = uuid.uuid4()
    blocker = committer.submit([event(taken)])
    assert committer.entered.wait(5)
    ok_before = committer.submit([event(uuid.uuid4())])
    clash = committer.submit([event(taken)])
    ok_after = committer.submit([event(uuid.uuid4())])
    committer.gate.set()
    blocker.result(5)
    assert len(ok_before.result(5)) == 1 and len(ok_after.result(5)) == 1
    with pytest.raises(ConcurrencyError):
        clash.result(5)
    committer.stop()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == 3
    conn.close()


def test_listeners_hear_the_last_committed_id(db: Path) -> None:
    committer = GroupCommitter(db)
    heard: list[int] = []
    committer.add_listener(heard.append)
    committer.start()
    committer.commit([event(uuid.uuid4()), event(uuid.uuid4())])
    committer.stop()
    assert heard == [2]


def test_topic_listeners_hear_only_commits_holding_their_topics(db: Path) -> None:
    committer = GroupCommitter(db)
    heard: list[int] = []
    committer.add_topic_listener(frozenset({"m:A.Watched"}), heard.append)
    committer.start()
    committer.commit([event(uuid.uuid4())])
    committer.commit([event(uuid.uuid4()), event(uuid.uuid4(), topic="m:A.Watched")])
    committer.commit([event(uuid.uuid4())])
    committer.remove_listener(heard.append)
    committer.commit([event(uuid.uuid4(), topic="m:A.Watched")])
    committer.stop()
    assert heard == [3]


def test_submit_after_stop_is_refused(db: Path) -> None:
    from domain.errors import DatabaseError

    committer = GroupCommitter(db)
    committer.start()
    committer.stop()
    with pytest.raises(DatabaseError, match="closed"):
        committer.submit([event(uuid.uuid4())])
