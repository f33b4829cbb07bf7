"""Group commit on a real SQLite file and a real PostgreSQL database: batching,
per-submitter ids, conflicts isolated."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.sql import PgLocation
from adapters.store import GroupCommitter, Pending, PostgresBackend
from adapters.store._app import PG_EVENTS_TABLE
from domain.errors import ConcurrencyError


class Store:
    """One backend's committer factory and a row count of its events table."""

    def __init__(self, make: Callable[[], GroupCommitter], count: Callable[[], int]) -> None:
        self.make, self.count = make, count

    def gated(self) -> Any:
        """A committer holding its first transaction until ``gate`` is set, so that later
        submissions pile up."""
        committer = self.make()
        base = type(committer)

        class Gated(base):  # type: ignore[valid-type, misc]
            def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
                self.entered.set()
                self.gate.wait(10)
                self.sizes.append(len(events))
                return super()._insert(events)

        committer.__class__ = Gated
        committer.gate, committer.entered = threading.Event(), threading.Event()
        committer.sizes = []
        return committer


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        path = tmp_path / "events.sqlite"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version "
                     "INTEGER, topic TEXT, state BLOB, PRIMARY KEY (originator_id, "
                     "originator_version))")
        conn.close()

        def count_file() -> int:
            with closing(sqlite3.connect(path)) as c:
                return int(c.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        return Store(lambda: GroupCommitter(path), count_file)
    backend = PostgresBackend(PgLocation.parse(request.getfixturevalue("pg_url")))
    backend.prepare()
    keys = backend.open_keystore(b"k" * 32)
    backend.open_app(b"k" * 32, keys).close()  # eventsourcing creates its table
    keys.close()

    def count_table() -> int:
        with closing(backend.location.connect("events")) as c:
            return int(c.execute(f"SELECT COUNT(*) FROM {PG_EVENTS_TABLE}").fetchone()[0])
    return Store(backend.committer, count_table)


def event(originator: uuid.UUID, version: int = 1, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic=topic,
                       state=b"x")


def test_waiting_submissions_share_one_transaction_and_get_their_own_ids(db: Store) -> None:
    committer = db.gated()
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
    assert db.count() == 11


def test_a_conflict_fails_only_the_conflicting_submitter(db: Store) -> None:
    committer = db.gated()
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
    assert db.count() == 3


def test_a_submission_behind_a_refused_one_is_refused_too(db: Store) -> None:
    """Versions 2 and 3 of an aggregate queued behind a version 1 that clashes: neither is
    stored (a stored 2 without its 1 would be a gap no replay gets past), in the batch
    the clash is in and in the batches after it; others in those batches are stored."""
    committer = db.gated()
    committer.start()
    taken, chained = uuid.uuid4(), uuid.uuid4()
    blocker = committer.submit([event(taken)])
    assert committer.entered.wait(5)
    clash = Pending([event(taken), event(chained)])
    committer.submit_pending(clash)
    second = Pending([event(chained, 2)], after=clash)
    committer.submit_pending(second)
    bystander = committer.submit([event(uuid.uuid4())])
    committer.gate.set()
    blocker.result(5)
    with pytest.raises(ConcurrencyError):
        clash.result(5)
    with pytest.raises(ConcurrencyError):
        second.result(5)
    assert len(bystander.result(5)) == 1
    third = Pending([event(chained, 3)], after=second)  # decided before it is submitted
    committer.submit_pending(third)
    with pytest.raises(ConcurrencyError):
        third.result(5)
    stored = Pending([event(chained, 1)])
    committer.submit_pending(stored)
    assert len(stored.result(5)) == 1
    committer.stop()
    assert db.count() == 3
    assert clash.after is None and second.after is None  # no chain is kept alive


def test_a_submission_behind_a_stored_one_is_stored(db: Store) -> None:
    committer = db.gated()
    committer.start()
    aggregate = uuid.uuid4()
    first = Pending([event(aggregate)])
    committer.submit_pending(first)
    assert committer.entered.wait(5)
    queued = [first]
    for version in (2, 3, 4):
        queued.append(Pending([event(aggregate, version)], after=queued[-1]))
        committer.submit_pending(queued[-1])
    committer.gate.set()
    assert [p.result(5) for p in queued] == [[1], [2], [3], [4]]
    committer.stop()
    assert db.count() == 4


def test_listeners_hear_the_last_committed_id(db: Store) -> None:
    committer = db.make()
    heard: list[int] = []
    committer.add_listener(heard.append)
    committer.start()
    committer.commit([event(uuid.uuid4()), event(uuid.uuid4())])
    committer.stop()
    assert heard == [2]


def test_topic_listeners_hear_only_commits_holding_their_topics(db: Store) -> None:
    committer = db.make()
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


def test_submit_after_stop_is_refused(db: Store) -> None:
    from domain.errors import DatabaseError

    committer = db.make()
    committer.start()
    committer.stop()
    with pytest.raises(DatabaseError, match="closed"):
        committer.submit([event(uuid.uuid4())])


def test_a_tailing_reader_never_passes_an_id_that_commits_later(pg_url: str) -> None:
    """Two hosts' committers append at once; a reader that follows the log by "ids after
    the last one I saw" (as projections do) must see every event: an id handed out to one
    transaction may not become visible after a higher id of another (the table lock)."""
    backend = PostgresBackend(PgLocation.parse(pg_url))
    backend.prepare()
    keys = backend.open_keystore(b"k" * 32)
    app = backend.open_app(b"k" * 32, keys)
    committers = [backend.committer(), backend.committer()]
    for c in committers:
        c.start()
    done = threading.Event()
    seen: list[int] = []

    def tail() -> None:
        position = 0
        while True:
            finished = done.is_set()  # read before the last look: nothing commits after
            notes = app.recorder.select_notifications(start=position, limit=500,
                                                      inclusive_of_start=False)
            seen.extend(n.id for n in notes)
            position = notes[-1].id if notes else position
            if finished and not notes:
                return

    def write(committer: GroupCommitter) -> None:
        for _ in range(150):
            committer.commit([event(uuid.uuid4()) for _ in range(3)])

    tailer = threading.Thread(target=tail)
    tailer.start()
    writers = [threading.Thread(target=write, args=(c,)) for c in committers]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    tailer.join(60)
    for c in committers:
        c.stop()
    stored = [n.id for n in app.recorder.select_notifications(start=1, limit=10_000)]
    app.close()
    keys.close()
    assert len(stored) == 900
    assert seen == stored  # every event, once, in order
