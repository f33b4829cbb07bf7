"""``EventLog`` and ``Subscription`` (the one way vipb follows its log) on eventsourcing's own
in-memory recorder: readers name event classes, old topics of renamed modules are found,
subscriptions track their position, discovery gives live aggregates in creation order."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from adapters.store import EventLog, topics_of
from domain.creator import Creator
from domain.events import events_of
from domain.rank import Schedule

ADDED, REMOVED = events_of(Creator, "CreatorAdded", "CreatorRemoved")
(SCHEDULED,) = events_of(Schedule, "ScheduleCreated")


class Store:
    """An eventsourcing application on the in-memory (POPO) recorder, and its log."""

    def __init__(self) -> None:
        self.app: Application[uuid.UUID] = Application(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.shredded: set[uuid.UUID] = set()
        self.log = EventLog(self.app.recorder, self._decode, KeyError)

    def _decode(self, stored: StoredEvent) -> dict[str, Any]:
        if stored.originator_id in self.shredded:
            raise KeyError("data key destroyed")
        return dict(self.app.mapper.transcoder.decode(stored.state))

    def creator(self, name: str) -> Creator:
        creator = Creator(id=uuid.uuid4(), name=name, url=f"https://example.com/{name}",
                          platform="web", priority=1, enabled=True, tags=[])
        self.app.save(creator)
        return creator

    def store_raw(self, topic: str) -> uuid.UUID:
        """An event stored under ``topic`` as an older vipb wrote it."""
        oid = uuid.uuid4()
        self.app.recorder.insert_events([StoredEvent(
            originator_id=oid, originator_version=1, topic=topic, state=b"{}")])
        return oid


def test_events_are_named_by_class_and_a_misspelt_one_fails_at_once() -> None:
    assert topics_of([ADDED]) == ["domain.creator:Creator.CreatorAdded"]
    with pytest.raises(LookupError, match="no event 'CreatorAded'"):
        events_of(Creator, "CreatorAded")


def test_events_of_a_renamed_module_are_found_under_their_stored_topic() -> None:
    store = Store()
    assert "domain.automation:Schedule.ScheduleCreated" in topics_of([SCHEDULED])
    old = store.store_raw("domain.automation:Schedule.ScheduleCreated")
    new = store.store_raw("domain.rank:Schedule.ScheduleCreated")
    store.creator("other")
    assert [n.originator_id for n in store.log.after(0, [SCHEDULED])] == [old, new]
    assert store.log.originators(SCHEDULED) == [old, new]


def test_discovery_gives_live_aggregates_in_creation_order() -> None:
    store = Store()
    first, second, third = (store.creator(n) for n in ("a", "b", "c"))
    second.remove()
    store.app.save(second)
    assert store.log.originators(ADDED, [REMOVED]) == [first.id, third.id]
    assert store.log.originators(REMOVED) == [second.id]


def test_a_subscription_gives_what_was_committed_since_its_last_look() -> None:
    store = Store()
    before = store.creator("before")
    follow = store.log.follow([ADDED, REMOVED])  # from the head: "before" is not news
    assert follow.changed() == []
    added = store.creator("added")
    store.store_raw("domain.rank:Schedule.ScheduleCreated")  # of no concern to it
    before.remove()
    store.app.save(before)
    assert follow.changed() == [added.id, before.id]  # not the schedule
    assert follow.position == store.log.head()
    assert follow.changed() == []  # each change once


def test_take_pages_and_wait_for_wakes_on_advance() -> None:
    store = Store()
    ids = [store.creator(str(i)).id for i in range(5)]
    follow = store.log.follow([ADDED], position=0)
    assert [n.originator_id for n in follow.take(2)] == ids[:2]
    assert [n.originator_id for n in follow.take(10)] == ids[2:]
    assert follow.take() == []
    waiting = store.log.follow(None, position=0)
    reached = threading.Event()

    def wait() -> None:
        if waiting.wait_for(store.log.head(), timeout=30):
            reached.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    while waiting.take():
        pass
    waiter.join(30)
    assert reached.is_set()
    assert not waiting.wait_for(store.log.head() + 1, timeout=0.01)


def test_states_skip_events_whose_key_was_destroyed() -> None:
    store = Store()
    kept, shredded = store.creator("kept"), store.creator("gone")
    store.shredded.add(shredded.id)
    assert [s["name"] for s in store.log.states(ADDED)] == [kept.name]


def test_events_are_found_by_name_across_aggregates_and_a_wrong_name_is_refused() -> None:
    from domain.events import events_named
    from domain.rank import SearchTask
    from domain.tab import Tab

    assert events_named(["SearchTaskCompleted"]) == (SearchTask.SearchTaskCompleted,)
    created = events_named(["Created"])  # every aggregate's
    assert SearchTask.Created in created and Tab.Created in created
    with pytest.raises(LookupError, match="no event is called 'SearchTaskComplete'"):
        events_named(["SearchTaskCompleted", "SearchTaskComplete"])


def test_a_name_finds_the_class_stored_events_name_not_its_helper_copies() -> None:
    """eventsourcing also makes unnamed subclasses of the same name (a decorated
    method's); only the class the topic names can be followed."""
    from domain.events import events_named
    from domain.rank import SearchTask

    assert events_named(["SearchTaskFailed"]) == (SearchTask.SearchTaskFailed,)
    assert topics_of(events_named(["SearchTaskFailed"])) == topics_of(
        [SearchTask.SearchTaskFailed])
