"""The rotation engine in a real runtime: every pick on record, busy and broken proxies
skipped, breakers that survive a restart, sticky sessions and usage summaries."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pykka
import pytest

from adapters.store import EventHistory
from domain.breaker import BreakerPolicy
from domain.commands import AddProxy, RemoveProxy, SelectProxy, SetRotation, UpdateProxy
from domain.parsing import parse_command
from domain.rotation_config import RotationConfig
from domain.selection import NoProxyAvailableError, SelectionContext
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import add_cmd


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rt(data_dir: Path, clock: Clock) -> Iterator[Runtime]:
    runtime = bootstrap(data_dir, clock=clock)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def rows(rt: Runtime, sql: str) -> list[tuple[object, ...]]:
    rt.settle()
    with rt.reader() as conn:
        return [tuple(r) for r in conn.execute(sql)]


def ctx(clock: Clock, **kw: object) -> SelectionContext:
    return SelectionContext(now=datetime.fromtimestamp(clock.now, UTC), **kw)  # type: ignore[arg-type]


def test_every_pick_is_recorded_with_strategy_reason_and_context(rt: Runtime) -> None:
    ids = [rt.dispatcher.execute(add_cmd(3000 + i)).id for i in range(3)]
    picks = [rt.dispatcher.execute(parse_command(SelectProxy, {"domain": "example.com"}))
             for _ in range(4)]
    assert [p.proxy_id for p in picks] == [ids[0], ids[1], ids[2], ids[0]]
    recorded = rows(rt, "SELECT proxy_id, strategy, reason, context FROM rotation_events "
                        "ORDER BY notification_id")
    assert [r[0] for r in recorded] == [p.proxy_id for p in picks]
    assert {r[1] for r in recorded} == {"round_robin"}
    assert all('"domain": "example.com"' in str(r[3]) for r in recorded)


def test_strategy_changes_apply_to_the_next_pick(rt: Runtime) -> None:
    a = rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 1, "country": "DE"})).id
    b = rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 2, "country": "US"})).id
    rt.dispatcher.execute(parse_command(SetRotation, {"strategy": "geographic",
                                                      "params": {"countries": ["US"]}}))
    assert rt.dispatcher.execute(parse_command(SelectProxy, {})).proxy_id == b
    assert rt.dispatcher.execute(parse_command(SelectProxy, {"country": "DE"})).proxy_id == a
    rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": a, "country": "FR"}))
    assert rt.dispatcher.execute(parse_command(SelectProxy, {"country": "FR"})).proxy_id == a
    fallback = rt.dispatcher.execute(parse_command(SelectProxy, {"country": "DE"}))
    assert fallback.proxy_id == b and "fallback" not in fallback.reason  # US is preferred


def test_busy_proxies_are_never_handed_out(rt: Runtime, clock: Clock) -> None:
    only = rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 1, "max_concurrency": 1})).id
    first = rt.rotation.select(ctx(clock)).get()
    assert first.proxy_id == only
    with pytest.raises(NoProxyAvailableError):
        rt.rotation.select(ctx(clock)).get()
    rt.rotation.release(only, True, 12.0).get()
    assert rt.rotation.select(ctx(clock)).get().proxy_id == only


def test_breaker_opens_survives_restart_half_opens_and_closes(data_dir: Path,
                                                              clock: Clock) -> None:
    rt = bootstrap(data_dir, clock=clock)
    bad = rt.dispatcher.execute(add_cmd(1)).id
    good = rt.dispatcher.execute(add_cmd(2)).id
    policy = BreakerPolicy()
    for _ in range(policy.consecutive_failures):
        rt.rotation.report(bad, False).get()
    assert rt.rotation.breaker_state(bad).get() == "open"
    assert {rt.rotation.select(ctx(clock)).get().proxy_id for _ in range(4)} == {good}
    assert rows(rt, "SELECT target, state FROM circuit_breakers") == [(f"proxy:{bad}", "open")]
    rt.close()
    pykka.ActorRegistry.stop_all()

    rt = bootstrap(data_dir, clock=clock)  # state survives the restart
    try:
        assert rt.rotation.breaker_state(bad).get() == "open"
        assert {rt.rotation.select(ctx(clock)).get().proxy_id for _ in range(4)} == {good}
        clock.now += policy.cooldown_seconds
        picks = {rt.rotation.select(ctx(clock)).get().proxy_id for _ in range(4)}
        assert bad in picks and rt.rotation.breaker_state(bad).get() == "half_open"
        for _ in range(policy.success_threshold):
            rt.rotation.report(bad, True, 30.0).get()
        assert rt.rotation.breaker_state(bad).get() == "closed"
        events = [e.event for e in EventHistory(rt.app).log(limit=1000)
                  if e.event.startswith("Circuit")]
        assert events == ["CircuitBreakerCreated", "CircuitOpened", "CircuitHalfOpened",
                          "CircuitClosed"]
        assert rows(rt, "SELECT state, transitions FROM circuit_breakers") == [("closed", 3)]
    finally:
        rt.close()


def test_sticky_sessions_bind_and_expire_on_record(rt: Runtime, clock: Clock) -> None:
    for i in range(5):
        rt.dispatcher.execute(add_cmd(4000 + i))
    rt.dispatcher.execute(parse_command(SetRotation, {
        "strategy": "sticky_session", "params": {"ttl_seconds": 60,
                                                 "wildcards": ["*.example.com"]}}))
    first = rt.rotation.select(ctx(clock, domain="a.example.com")).get()
    again = rt.rotation.select(ctx(clock, domain="b.example.com")).get()
    assert again.proxy_id == first.proxy_id
    assert rows(rt, "SELECT session_key, proxy_id, status FROM sticky_sessions") == [
        ("*.example.com", first.proxy_id, "bound")]
    clock.now += 61
    rt.rotation.expire_sessions().get()  # (or the sweeper did, if this machine stalled 15 s)
    assert rows(rt, "SELECT status FROM sticky_sessions") == [("expired",)]


def test_a_running_engine_puts_lapsed_sticky_sessions_on_record_by_itself(
        rt: Runtime, clock: Clock) -> None:
    """Nobody asks: the engine sweeps (a quarter of the ttl after a lapse, at most a minute),
    so the view says which sessions hold and memory does not keep every domain ever bound."""
    for i in range(3):
        rt.dispatcher.execute(add_cmd(4200 + i))
    rt.dispatcher.execute(parse_command(SetRotation, {
        "strategy": "sticky_session", "params": {"ttl_seconds": 4}}))  # swept every second
    bound = rt.rotation.select(ctx(clock, domain="a.test")).get().proxy_id
    assert rows(rt, "SELECT session_key, status FROM sticky_sessions") == [("a.test", "bound")]
    committed = threading.Event()
    rt.committer.add_listener(lambda _last: committed.set())
    clock.now += 5  # lapsed
    deadline = time.monotonic() + 60
    while rows(rt, "SELECT status FROM sticky_sessions") != [("expired",)]:
        assert committed.wait(max(0.0, deadline - time.monotonic())), "no expiry on record"
        committed.clear()  # a commit came: look again
    assert rows(rt, "SELECT proxy_id FROM sticky_sessions") == [(bound,)]
    assert rt.rotation.select(ctx(clock, domain="a.test")).get().reason == \
        "new binding for a.test", "the lapsed binding left memory too"


def test_usage_summaries_feed_usage_stats_and_success_rate(rt: Runtime, clock: Clock) -> None:
    proxy = rt.dispatcher.execute(add_cmd(5000)).id
    for ok, latency in [(True, 100.0), (True, 300.0), (False, None), (True, 200.0)]:
        pick = rt.rotation.select(ctx(clock)).get()
        rt.rotation.release(pick.proxy_id, ok, latency).get()
    assert rt.rotation.flush_usage().get() > 0
    assert rows(rt, "SELECT requests, successes, failures, avg_latency_ms, success_rate "
                    "FROM proxy_usage_stats") == [(4, 3, 1, 200.0, 0.75)]
    assert rows(rt, f"SELECT success_rate FROM proxies WHERE id='{proxy}'") == [(0.75,)]
    assert rt.rotation.flush_usage().get() == 0  # nothing new: nothing written


def test_health_checks_are_counted_apart_from_uses(rt: Runtime, clock: Clock) -> None:
    """A validated proxy's checks never make more successes than it had uses."""
    proxy = rt.dispatcher.execute(add_cmd(5100)).id
    for ok in (True, True, False):
        rt.rotation.health(proxy, ok, 50.0).get()
    for ok in (True, False):
        pick = rt.rotation.select(ctx(clock)).get()
        rt.rotation.release(pick.proxy_id, ok, 150.0).get()
    pick = rt.rotation.select(ctx(clock)).get()
    rt.rotation.release(pick.proxy_id).get()  # interrupted: a use without an outcome
    assert rt.rotation.flush_usage().get() > 0
    assert rows(rt, "SELECT requests, successes, failures, checks, checks_failed, "
                    "avg_latency_ms, success_rate FROM proxy_usage_stats") == \
        [(3, 1, 1, 3, 1, 90.0, 0.5)]


def test_a_removed_proxy_takes_its_usage_row_with_it(rt: Runtime, clock: Clock) -> None:
    kept, gone = (rt.dispatcher.execute(add_cmd(5200 + i)).id for i in range(2))
    for proxy in (kept, gone):
        rt.rotation.health(proxy, True, 10.0).get()
    assert rt.rotation.flush_usage().get() > 0
    assert len(rows(rt, "SELECT proxy_id FROM proxy_usage_stats")) == 2
    rt.dispatcher.execute(parse_command(RemoveProxy, {"proxy_id": gone}))
    assert rows(rt, "SELECT proxy_id FROM proxy_usage_stats") == [(kept,)]
    rt.rotation.report(gone, True, 10.0).get()  # a late outcome (another host's, say)
    assert rt.rotation.flush_usage().get() > 0
    assert rows(rt, "SELECT proxy_id FROM proxy_usage_stats") == [(kept,)]


def test_closing_an_idle_runtime_writes_no_event(data_dir: Path) -> None:
    bootstrap(data_dir).close()
    conn = sqlite3.connect(data_dir / "events.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == 0
    conn.close()


@contextlib.contextmanager
def _process(data_dir: Path, clock: Clock) -> Iterator[Runtime]:
    """One CLI process's runtime: opened, used, closed."""
    rt = bootstrap(data_dir, clock=clock)
    try:
        yield rt
    finally:
        rt.close()


def _pick(rt: Runtime, clock: Clock, domain: str) -> tuple[str, str]:
    selection = rt.rotation.select(ctx(clock, domain=domain)).get()
    rt.rotation.release(selection.proxy_id).get()
    return selection.proxy_id, selection.reason


def test_sticky_bindings_survive_a_restart_until_they_expire(data_dir: Path,
                                                             clock: Clock) -> None:
    """Each CLI command is a new process: bindings and their expiry come from the events."""
    clock.now = datetime(2026, 11, 24, 23, 55, tzinfo=UTC).timestamp()  # over midnight
    with _process(data_dir, clock) as rt:
        for i in range(6):
            rt.dispatcher.execute(add_cmd(4100 + i))
        rt.dispatcher.execute(parse_command(SetRotation, {
            "strategy": "sticky_session", "params": {"ttl_seconds": 900,
                                                     "wildcards": ["*.example.com"]}}))
        bound, reason = _pick(rt, clock, "a.example.com")
        assert reason == "new binding for *.example.com"
        other, _ = _pick(rt, clock, "other.test")
    clock.now += 600  # 00:05 the next day: yesterday's journal still binds
    with _process(data_dir, clock) as rt:
        assert _pick(rt, clock, "b.example.com") == (bound, "sticky for *.example.com")
        assert _pick(rt, clock, "other.test") == (other, "sticky for other.test")
    clock.now += 901  # past the ttl since the last use (the restored last use counts)
    with _process(data_dir, clock) as rt:
        assert _pick(rt, clock, "c.example.com")[1] == \
            "binding for *.example.com expired; rebound"
        clock.now += 1000
        assert rt.rotation.expire_sessions().get() > 0  # other.test lapses, on record
    with _process(data_dir, clock) as rt:
        assert _pick(rt, clock, "other.test")[1] == "new binding for other.test", \
            "an expiry on record is not revived"
        rt.dispatcher.execute(parse_command(SetRotation, {
            "strategy": "sticky_session", "params": {"ttl_seconds": 901}}))
    with _process(data_dir, clock) as rt:
        assert _pick(rt, clock, "other.test")[1] == "new binding for other.test", \
            "setting the strategy again starts new sessions"
    pykka.ActorRegistry.stop_all()


def test_a_stored_rule_this_release_refuses_falls_back_to_round_robin(
        data_dir: Path, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    """An older release checked patterns with Python's re and stored a look-behind rule;
    RE2 cannot run it. The engine still starts, picks round-robin and says why."""
    with _process(data_dir, clock) as rt:
        for i in range(2):
            rt.dispatcher.execute(add_cmd(4200 + i))
        rt.writer.save(RotationConfig(strategy="custom", params={"fallback": "random", "rules": [
            {"url_pattern": "(?<=shop)cart", "action": "use_country", "target": "DE"}]}))
    with caplog.at_level("ERROR", logger="actors.rotation_actor"), _process(data_dir, clock) as rt:
        picks = [_pick(rt, clock, "x.test")[0] for _ in range(4)]
        assert picks[0] != picks[1] and picks == picks[:2] * 2
        assert rt.rotation.strategy_name.get() == "round_robin"
    assert "stored custom rotation is not valid any more" in caplog.text
    assert "RE2" in caplog.text
    pykka.ActorRegistry.stop_all()


def test_a_pick_says_where_its_proxy_is_declared_and_seen_leaving_from(rt: Runtime) -> None:
    de = rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 1, "country": "DE"})).id
    rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 2}))
    first = rt.rotation.pick(None).get()
    assert first.selection.proxy_id == de
    assert (first.declared, first.exit_country, first.exit_basis) == ("DE", "DE", "declared")
    other = rt.rotation.pick(None).get()
    assert (other.declared, other.exit_country, other.exit_basis) == (None, None, "unknown")
    rt.rotation.exit_seen(de, "FR").get()  # a validation saw it leave from France
    again = rt.rotation.pick(None, (other.selection.proxy_id,)).get()
    assert (again.selection.proxy_id, again.declared, again.exit_country,
            again.exit_basis) == (de, "DE", "FR", "validated")
    assert (again.exit_country, again.exit_basis) == rt.rotation.exit_of(de).get()
