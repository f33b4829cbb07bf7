"""Following committed events in process (what `vipb rank run` waits on without a host): every
event after the position is seen in order, a commit from another thread wakes the follower,
and nothing committed means False at the timeout."""

from __future__ import annotations

import threading
from typing import Any

from service.runtime import Runtime
from tests.helpers import add_cmd
from tests.pg import BOTH_STORES


@BOTH_STORES
def test_events_after_the_position_are_seen_in_order_and_a_commit_wakes_the_follower(
        runtime: Runtime) -> None:
    first = runtime.dispatcher.execute(add_cmd(10_001))
    after = runtime.app.recorder.max_notification_id() or 0
    seen: list[dict[str, Any]] = []
    added = threading.Event()

    def until(event: dict[str, Any]) -> bool:
        seen.append(event)
        if len(seen) == 1:
            added.set()  # the follower is waiting or reading: now commit the next one
        return [e["event"] for e in seen].count("ProxyAdded") == 2

    def add_later() -> None:
        assert added.wait(60)
        runtime.dispatcher.execute(add_cmd(10_003))

    runtime.dispatcher.execute(add_cmd(10_002, "u", "s3cret-pw"))  # before following starts
    adder = threading.Thread(target=add_later)
    adder.start()
    assert runtime.follow(after, until, timeout=30)
    adder.join()
    assert [e["event"] for e in seen].count("ProxyAdded") == 2
    assert all(e["aggregate_id"] != str(first.id) for e in seen)  # strictly after
    ids = [e["notification_id"] for e in seen]
    assert ids == sorted(ids) and ids[0] > after
    assert "s3cret-pw" not in str(seen)  # credentials masked, as in the host stream


@BOTH_STORES
def test_nothing_committed_means_false_at_the_timeout(runtime: Runtime) -> None:
    runtime.dispatcher.execute(add_cmd(10_001))
    head = runtime.app.recorder.max_notification_id() or 0
    calls: list[dict[str, Any]] = []
    listeners = len(runtime.committer._listeners)

    def until(event: dict[str, Any]) -> bool:
        calls.append(event)
        return True

    assert not runtime.follow(head, until, timeout=0.3)
    assert calls == []
    # a listener per follow is removed again: the committer keeps only the runtime's
    assert runtime.follow(0, lambda e: True, timeout=5)
    assert len(runtime.committer._listeners) == listeners


@BOTH_STORES
def test_a_follower_of_some_events_sees_those_only_and_is_still_woken(
        runtime: Runtime) -> None:
    """`rank run` without a host waits for task endings only: the other events after the
    position are read past without being decoded for it."""
    after = runtime.app.recorder.max_notification_id() or 0
    runtime.dispatcher.execute(add_cmd(10_001))
    seen: list[dict[str, Any]] = []
    added = threading.Event()

    def until(event: dict[str, Any]) -> bool:
        seen.append(event)
        added.set()
        return len(seen) == 2

    def add_later() -> None:
        assert added.wait(60)
        runtime.dispatcher.execute(add_cmd(10_002))

    adder = threading.Thread(target=add_later)
    adder.start()
    assert runtime.follow(after, until, timeout=30, events=["ProxyAdded"])
    adder.join()
    assert [e["event"] for e in seen] == ["ProxyAdded", "ProxyAdded"]
    assert seen[0]["notification_id"] < seen[1]["notification_id"]
