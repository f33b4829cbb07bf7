"""Two runtimes as two hosts on one PostgreSQL store: what one records about proxies (added,
breaker opened, strategy set, removed) reaches the other's pool and rotation engine, each
keeps its own rotation journal (no version conflicts between their picks), and a proxy's
concurrency limit is shared out between hosts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from domain.commands import RemoveProxy, SetRotation
from domain.health import HealthReport
from domain.health_journal import HealthJournal
from domain.parsing import parse_command
from domain.selection.pool import NoProxyAvailableError
from service.runtime import Runtime
from tests.helpers import add_cmd, open_runtime

pytestmark = pytest.mark.parametrize("store", ["postgresql"], indirect=True)


@pytest.fixture
def hosts(data_dir: Path) -> Iterator[tuple[Runtime, Runtime]]:
    a = open_runtime(data_dir, host_id="a")
    b = open_runtime(data_dir, host_id="b")
    assert b.follow_shared_state() is not None
    yield a, b
    b.close()
    a.close()
    pykka.ActorRegistry.stop_all()


def seen_by(rt: Runtime, position: int) -> None:
    """Wait until ``rt``'s follower has applied everything up to ``position``."""
    assert rt.shared_state is not None
    assert rt.shared_state.wait_for(position, timeout=30), "the follower fell behind"


def test_what_one_host_records_about_proxies_reaches_the_other(
        hosts: tuple[Runtime, Runtime]) -> None:
    a, b = hosts
    broken = a.dispatcher.execute(add_cmd(3128, "u", "p")).id
    healthy = a.dispatcher.execute(add_cmd(3129)).id
    seen_by(b, a.app.recorder.max_notification_id() or 0)
    assert set(b.pool.proxy_ids().get()) == {broken, healthy}
    picks = {b.rotation.select().get().proxy_id for _ in range(4)}
    assert picks == {broken, healthy}  # round robin over both
    for _ in range(20):  # a's uses of it fail until a opens its breaker
        position = a.rotation.report(broken, False).get().position
        if a.rotation.breaker_state(broken).get() == "open":
            break
    assert a.rotation.breaker_state(broken).get() == "open"
    seen_by(b, position)
    assert b.rotation.breaker_state(broken).get() == "open"
    assert {b.rotation.select().get().proxy_id for _ in range(6)} == {healthy}
    journal = HealthJournal(day="2026-12-03", host="a")  # a's health check measured it
    journal.record(healthy, HealthReport(ok=True, latency_ms=123.0, samples=1), "unknown")
    seen_by(b, a.writer.save(journal)[-1])
    assert b.rotation.pool.get().get(healthy).latency_ms == 123.0
    a.dispatcher.execute(parse_command(SetRotation, {"strategy": "least_used"}))
    seen_by(b, a.app.recorder.max_notification_id() or 0)
    assert b.rotation.strategy_name.get() == "least_used"
    key_before = b.keystore.get(uuid.UUID(broken))
    assert key_before is not None  # b has read (and cached) its data key
    a.dispatcher.execute(parse_command(RemoveProxy, {"proxy_id": broken}))
    seen_by(b, a.app.recorder.max_notification_id() or 0)
    assert b.pool.proxy_ids().get() == [healthy]
    assert b.keystore.get(uuid.UUID(broken)) is None  # shredded for b too


def test_each_host_keeps_its_own_journal_and_shares_a_proxys_limit(
        hosts: tuple[Runtime, Runtime]) -> None:
    a, b = hosts
    proxy_id = a.dispatcher.execute(add_cmd(3130)).id  # max_concurrency 10 by default
    seen_by(b, a.app.recorder.max_notification_id() or 0)
    for _ in range(10):  # picks on both hosts at once would conflict on one journal
        a.rotation.select().get()
        b.rotation.select().get()
    for rt in (a, b):
        rt.rotation.release(proxy_id).get()  # one use ends on each; the rest stay in use
    b.rotation.set_hosts(2).get()  # b's share of the limit is 5: 9 in use already
    with pytest.raises(NoProxyAvailableError):
        b.rotation.select().get()
    b.rotation.set_hosts(1).get()  # alone again: the whole limit
    assert b.rotation.select().get().proxy_id == proxy_id
    a.settle()
    with a.reader() as conn:
        picks = conn.execute("SELECT proxy_id FROM rotation_events").fetchall()
    assert len(picks) == 21


def test_creators_added_on_one_host_are_checked_on_another(
        hosts: tuple[Runtime, Runtime]) -> None:
    from actors.creator_check import CheckResult
    from domain.creator_commands import AddCreator, UpdateCreator

    a, b = hosts
    a.creators.add(parse_command(AddCreator, {"name": "Jane",
                                              "url": "https://example.com/@jane"})).get()
    assert b.creators.names(True, None).get() == ["Jane"]  # b follows a's creators
    result = CheckResult(reachable=True, reason=None, http_status=200,
                         final_url="https://example.com/@jane", title="Jane",
                         canonical_url=None, fingerprint="f1", latency_ms=12.0,
                         proxy_id=None, attempts=1)
    assert b.creators.record("jane", result).get()["first"] is True
    # a changes the creator while b's copy is a version behind: b's next check still lands
    a.creators.update(parse_command(UpdateCreator, {"name": "jane", "priority": 1})).get()
    recorded = b.creators.record("jane", result).get()
    assert recorded["first"] is False
    a.creators.record("jane", result).get()  # and a, a version behind b, too
    a.settle()
    with a.reader() as conn:
        checks = conn.execute("SELECT checks, priority FROM creators").fetchall()
    assert [tuple(r) for r in checks] == [(3, 1)]


def test_profiles_and_alert_rules_changed_on_one_host_are_read_afresh_on_another(
        hosts: tuple[Runtime, Runtime]) -> None:
    from domain.alert_commands import AddAlertRule, RemoveAlertRule
    from domain.tab_commands import ToggleTrackerBlocking

    a, b = hosts
    assert b.guard.profile("default").get().tracker_blocking is False  # b made it
    a.guard.toggle_blocking(parse_command(ToggleTrackerBlocking, {"enabled": True})).get()
    assert b.guard.profile("default").get().tracker_blocking is True  # a's change, on b
    a.guard.profile("default-mobile").get()  # a and b ask for a new default at once...
    assert b.guard.profile("default-mobile").get().name == "default-mobile"  # ...one made it
    rules = [pykka.ActorProxy(actor_ref=rt.alert_rules_ref) for rt in (a, b)]
    rules[0].add(parse_command(AddAlertRule, {
        "name": "top3", "kind": "enters-top", "threshold": 3,
        "webhook_url": "https://hooks.example.com/x", "secret": "0123456789abcdef"})).get()
    assert rules[1].get("TOP3").get().threshold == 3  # the courier may run on b
    rules[1].remove(parse_command(RemoveAlertRule, {"name": "top3"})).get()
    with pytest.raises(Exception, match="no alert rule named"):
        rules[0].get("top3").get()
