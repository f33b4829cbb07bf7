"""Alerts on a real runtime: rules evaluated on recorded outcomes (written through the real
store, as the rank tracker and creator watch record them), delivered to a real webhook
receiver on 127.0.0.1, signed; retries, give-ups, restarts and rebuilds on record."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.alert_courier import AlertCourier
from adapters.config import Settings
from domain.creator import Creator
from scripts.fixtures.servers import WebhookReceiver, free_port, tcp_server, webhook_receiver
from service.bootstrap import bootstrap
from service.runtime import EventReader, Runtime
from tests.helpers import call, files_containing, open_runtime, record_outcome, refuse
from tests.pg import BOTH_STORES

SECRET = "correct-horse-battery-staple-42"
TOKEN = "T0KEN-in-the-path-9f8e7d"
FAST = {"alert_retry_initial": 0.0, "alert_retry_max": 0.0, "alert_attempts": 3}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as hook:
        yield hook


@pytest.fixture
def rt(data_dir: Path) -> Iterator[Runtime]:
    runtime = open_runtime(data_dir, **FAST)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def add_rule(rt: Runtime, url: str, name: str = "r", **rule: Any) -> str:
    ack = call(rt, "alerts:add-rule", name=name, webhook_url=f"{url}/{TOKEN}",
               secret=SECRET, **rule)
    return str(ack["id"])


outcome = record_outcome


def history(rt: Runtime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = call(rt, "alerts:history", limit=100)
    return rows


def settled(rt: Runtime) -> list[dict[str, Any]]:
    """The alert history once the courier has raised and delivered what is due now."""
    assert rt.courier.drain(30)
    return history(rt)


def verify(delivery: Any, secret: str = SECRET) -> None:
    """What a receiver does: recompute the signature over timestamp and body."""
    assert delivery.signed_with(secret)
    assert abs(int(delivery.headers["X-Vipb-Timestamp"]) - time.time()) < 300
    assert delivery.headers["X-Vipb-Delivery"] == delivery.json()["id"]
    assert delivery.headers["Content-Type"] == "application/json"


# --- what fires -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "threshold", "positions", "fired"), [
    ("enters-top", 10, [14, 7, 3, 12, 9], ["#14 -> #7", "#12 -> #9"]),
    ("enters-top", 10, [None, 10], ["not ranked -> #10"]),
    ("leaves-top", 10, [4, 11, 5, None, None], ["#4 -> #11", "#5 -> not ranked in 30"]),
    ("moves", 3, [10, 8, 5, 9, 9, 20], ["#8 -> #5", "#5 -> #9", "#9 -> #20"]),
    ("stops-ranking", None, [3, None, None, 4, None], ["#3 -> not ranked in 30",
                                                       "#4 -> not ranked in 30"]),
    ("starts-ranking", None, [None, 2, None, 5], ["not ranked -> #2",
                                                  "not ranked -> #5"]),
])
@BOTH_STORES
def test_position_rules_fire_on_the_changes_they_name(
        rt: Runtime, receiver: WebhookReceiver, kind: str, threshold: int | None,
        positions: list[int | None], fired: list[str]) -> None:
    add_rule(rt, receiver.url, kind=kind, threshold=threshold)
    for position in positions:
        outcome(rt, position)
    alerts = settled(rt)
    assert sorted(a["message"].split(": ", 1)[1] for a in alerts) == sorted(fired)
    assert {a["state"] for a in alerts} == {"delivered"}
    assert len(receiver.deliveries) == len(fired)


def test_a_burst_of_outcomes_is_one_look_at_the_outbox_and_a_drain_does_not_wait(
        rt: Runtime, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy host records a watched event per search several times a second; each look
    settles the views and queries the outbox, so commits within ``LOOK_EVERY`` of a look
    wait for one more look (here the clock that spaces them never moves: only a drain
    brings that look), and no alert is lost."""
    add_rule(rt, receiver.url, kind="enters-top", threshold=10)
    looks: list[int] = []
    looked, asked = threading.Event(), threading.Event()
    outbox = rt.courier._outbox

    def counted() -> list[dict[str, Any]]:
        looks.append(1)
        looked.set()
        return outbox()

    def frozen() -> float:
        asked.set()
        return 1000.0

    monkeypatch.setattr(rt.courier, "_outbox", counted)
    monkeypatch.setattr(rt.courier, "_monotonic", frozen)
    outcome(rt, 20)  # the first look: at once
    assert looked.wait(30)
    asked.clear()
    for position in (15, 4, 12, 3):  # two entries into the top 10
        outcome(rt, position)
    assert asked.wait(30)  # the courier saw a commit and held its look
    assert len(looks) == 1
    alerts = settled(rt)
    assert len(looks) == 2  # the drain's look raised both
    assert sorted(a["message"].rsplit(": ", 1)[1] for a in alerts) == ["#12 -> #3",
                                                                       "#15 -> #4"]


@BOTH_STORES
def test_a_rule_sees_only_what_is_recorded_after_it_and_only_what_it_names(
        rt: Runtime, receiver: WebhookReceiver) -> None:
    outcome(rt, 20)
    outcome(rt, 2)  # entered the top 10 before any rule existed: no alert
    add_rule(rt, receiver.url, kind="enters-top", threshold=10, domain="example.com",
             keyword="Coffee")
    outcome(rt, 15)
    outcome(rt, 20, keyword="tea")
    outcome(rt, 15, domain="other.example")
    outcome(rt, 1, keyword="tea")  # another keyword
    outcome(rt, 1, domain="other.example")  # another domain
    outcome(rt, None, fail=True)  # a failed search is no outcome
    outcome(rt, 4)  # the one that counts
    alerts = settled(rt)
    assert [a["message"] for a in alerts] == [
        "example.com entered the top 10 for 'coffee' on bing: #15 -> #4"]
    assert alerts[0]["subject"]["before"] == 15 and alerts[0]["subject"]["after"] == 4


@BOTH_STORES
def test_creator_rules_fire_on_unreachable_and_changed_pages(
        rt: Runtime, receiver: WebhookReceiver) -> None:
    add_rule(rt, receiver.url, name="down", kind="unreachable")
    add_rule(rt, receiver.url, name="news", kind="content-changed", creator="Jane")
    jane = Creator(id=uuid.uuid4(), name="jane", url="https://example.com/@jane",
                   platform="blog", priority=1, enabled=True, tags=[])
    bob = Creator(id=uuid.uuid4(), name="bob", url="https://example.com/@bob",
                  platform="blog", priority=1, enabled=True, tags=[])

    def check(creator: Creator, reachable: bool, text: str = "a") -> None:
        creator.record_check(reachable=reachable, reason=None if reachable else "http",
                             http_status=200 if reachable else 503, final_url=creator.url,
                             title="t", canonical_url=None, fingerprint=text if reachable
                             else None, latency_ms=5.0, proxy_id=None, attempts=1)
        rt.writer.save(creator)

    check(bob, False)  # a first check that fails counts
    check(bob, False)  # still down: not again
    check(bob, True, "x")
    check(bob, True, "y")  # changed, but "news" watches jane only
    check(jane, True, "a")
    check(jane, True, "a")
    check(jane, True, "b")
    check(jane, False)
    alerts = settled(rt)
    assert sorted(a["message"] for a in alerts) == [
        "creator bob is unreachable (http, HTTP 503)",
        "creator jane is unreachable (http, HTTP 503)",
        "creator jane: the page's content changed"]


# --- delivery -------------------------------------------------------------------------------------

@BOTH_STORES
def test_a_webhook_is_signed_and_carries_its_delivery_id(rt: Runtime,
                                                         receiver: WebhookReceiver) -> None:
    add_rule(rt, receiver.url, kind="stops-ranking")
    outcome(rt, 3)
    outcome(rt, None)
    [alert] = settled(rt)
    [delivery] = receiver.deliveries
    verify(delivery)
    body = delivery.json()
    assert body["id"] == alert["id"] and body["rule"] == "r" and body["kind"] == "stops-ranking"
    assert body["subject"]["domain"] == "example.com" and body["subject"]["after"] is None
    assert delivery.path == f"/hook/{TOKEN}"
    with pytest.raises(AssertionError):  # the check a receiver makes does catch a forgery
        verify(delivery, secret="another-secret-of-enough-length")
    genuine = readme_receiver()
    assert genuine(delivery.headers, delivery.body, SECRET)
    assert not genuine(delivery.headers, delivery.body + b" ", SECRET)
    assert not genuine(delivery.headers, delivery.body, SECRET[:-1])


def readme_receiver() -> Any:
    """The receiver check the README shows, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [code] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
              if "def genuine" in block]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the README's own example, run as a receiver would
    return namespace["genuine"]


@BOTH_STORES
def test_failures_are_retried_then_delivered_with_the_same_delivery_id(data_dir: Path) -> None:
    with webhook_receiver(statuses=[503, 429, 200]) as hook:
        rt = open_runtime(data_dir, **FAST)
        try:
            add_rule(rt, hook.url, kind="starts-ranking")
            outcome(rt, None)
            outcome(rt, 1)
            assert hook.wait_for(3)
            [alert] = settled(rt)
        finally:
            rt.close()
    assert alert["state"] == "delivered" and alert["attempts"] == 3
    ids = {d.headers["X-Vipb-Delivery"] for d in hook.deliveries}
    assert ids == {alert["id"]}
    for delivery in hook.deliveries:
        verify(delivery)
    events = [e.topic.rsplit(".", 1)[-1] for e in _events_of(data_dir, alert["id"])]
    assert events == ["AlertTriggered", "AlertDeliveryFailed", "AlertDeliveryFailed",
                      "AlertDelivered"]


@BOTH_STORES
def test_a_refusal_or_a_redirect_gives_up_at_once_and_the_attempts_run_out(
        data_dir: Path) -> None:
    with webhook_receiver(statuses=[404]) as gone, \
            webhook_receiver(statuses=[302], headers={"Location": "http://127.0.0.1:9/x"}) \
            as moved, webhook_receiver(statuses=[500]) as broken:
        rt = open_runtime(data_dir, **FAST)
        try:
            add_rule(rt, gone.url, name="gone", kind="starts-ranking")
            add_rule(rt, moved.url, name="moved", kind="starts-ranking")
            add_rule(rt, broken.url, name="broken", kind="starts-ranking")
            outcome(rt, None)
            outcome(rt, 1)
            assert broken.wait_for(3)
            alerts = {a["rule"]: a for a in settled(rt)}
        finally:
            rt.close()
    assert (alerts["gone"]["state"], alerts["gone"]["attempts"]) == ("failed", 1)
    assert alerts["gone"]["last_error"] == "HTTP 404"
    assert (alerts["moved"]["state"], alerts["moved"]["attempts"]) == ("failed", 1)
    assert (alerts["broken"]["state"], alerts["broken"]["attempts"]) == ("failed", 3)
    assert len(gone.deliveries) == 1 and len(moved.deliveries) == 1
    assert len(broken.deliveries) == 3


@BOTH_STORES
def test_a_webhook_to_a_private_address_is_refused_unless_allowed(data_dir: Path,
                                                                  receiver: WebhookReceiver
                                                                  ) -> None:
    rt = open_runtime(data_dir, allow_private_targets=False)
    try:
        for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x",
                    "http://0x7f000001/x", "http://169.254.169.254/latest/meta-data"):
            error = refuse(rt, "alerts:add-rule", name="x", kind="stops-ranking",
                           webhook_url=url, secret=SECRET)
            assert error.startswith("webhook_url: "), error
    finally:
        rt.close()
    rt = open_runtime(data_dir, **FAST)  # allowed while added ...
    try:
        add_rule(rt, receiver.url, kind="starts-ranking")
    finally:
        rt.close()
    rt = open_runtime(data_dir, allow_private_targets=False, **FAST)  # ... but not now
    try:
        outcome(rt, None)
        outcome(rt, 1)
        [alert] = settled(rt)
    finally:
        rt.close()
    assert alert["state"] == "failed" and "egress guard refused" in alert["last_error"]
    assert receiver.deliveries == []


# --- exactly once across restarts and rebuilds ---------------------------------------------------

@BOTH_STORES
def test_nothing_is_sent_twice_after_a_restart_and_a_rebuild(data_dir: Path,
                                                             receiver: WebhookReceiver
                                                             ) -> None:
    rt = open_runtime(data_dir, **FAST)
    try:
        add_rule(rt, receiver.url, kind="moves", threshold=1)
        outcome(rt, 5)
        outcome(rt, 4)
        outcome(rt, 2)
        assert [a["state"] for a in settled(rt)] == ["delivered", "delivered"]
    finally:
        rt.close()
    rt = open_runtime(data_dir, **FAST)
    try:
        call(rt, "projections:rebuild")  # the outbox is computed again from the events ...
        rt.courier.activate()
        assert len(settled(rt)) == 2  # ... and the alerts on record are not raised again
        outcome(rt, 3)
        assert len(settled(rt)) == 3
    finally:
        rt.close()
    assert len(receiver.deliveries) == 3
    assert len({d.headers["X-Vipb-Delivery"] for d in receiver.deliveries}) == 3


class _ParkedAtTheWorstMoment(AlertCourier):
    """The first alert's delivery waits until the second, to the same receiver, parked;
    the parked attempt returns only after that delivery made it due again and the
    dispatcher looked at it (as the courier's thread may at any moment)."""

    first_sending: threading.Event  # set by the test, on the runtime's courier
    second_parked: threading.Event

    def _try(self, alert: Any, target: Any, final: bool) -> Any:
        if not self.first_sending.is_set():
            self.first_sending.set()
            assert self.second_parked.wait(60)
        return super()._try(alert, target, final)

    def _attempt(self, alert_id: str) -> Any:
        outcome = super()._attempt(alert_id)
        with self._state:
            if not any(alert_id in waiting for waiting in self._parked.values()):
                return outcome
            self.second_parked.set()
            assert self._state.wait_for(
                lambda: not any(alert_id in waiting for waiting in self._parked.values()), 60)
        self._dispatch_due()
        return outcome


def test_an_alert_parked_behind_another_to_its_receiver_is_delivered_after_it(
        rt: Runtime, receiver: WebhookReceiver) -> None:
    """It was dropped, until the next start, when the dispatcher met it due again before
    its parked attempt had left flight."""
    courier = rt.courier
    courier.__class__ = _ParkedAtTheWorstMoment
    assert isinstance(courier, _ParkedAtTheWorstMoment)
    courier.first_sending, courier.second_parked = threading.Event(), threading.Event()
    add_rule(rt, receiver.url, kind="moves", threshold=1)
    outcome(rt, 5)
    outcome(rt, 4)
    assert courier.first_sending.wait(60)
    outcome(rt, 2)  # raised while the first is being sent: it parks
    assert receiver.wait_for(2)
    assert [a["state"] for a in settled(rt)] == ["delivered", "delivered"]


def fail_first_attempt(data_dir: Path, port: int, remove: bool = False) -> None:
    """A rule whose webhook (127.0.0.1:``port``) does not answer yet raises one alert: its
    first attempt fails and the next is due in an hour; ``remove``: the rule is removed."""
    slow = {**FAST, "alert_retry_initial": 3600.0, "alert_retry_max": 3600.0}
    rt = open_runtime(data_dir, **slow)
    try:
        call(rt, "alerts:add-rule", name="r", kind="starts-ranking",
             webhook_url=f"http://127.0.0.1:{port}/hook", secret=SECRET)
        outcome(rt, None)
        outcome(rt, 1)
        [alert] = settled(rt)
        assert alert["state"] == "retrying" and alert["attempts"] == 1
        if remove:
            call(rt, "alerts:remove-rule", name="r")  # its URL and secret are destroyed
    finally:
        rt.close()


def next_process_later(data_dir: Path) -> list[dict[str, Any]]:
    """What the next process, two hours on (the retry is due), makes of the alerts."""
    rt = bootstrap(data_dir, clock=lambda: time.time() + 7200, settings=Settings(
        data_dir=data_dir, allow_private_targets=True, **FAST))  # type: ignore[arg-type]
    try:
        rt.courier.activate()  # what the host does at start
        return settled(rt)
    finally:
        rt.close()


@BOTH_STORES
def test_an_undelivered_alert_is_delivered_by_the_next_process(data_dir: Path) -> None:
    port = free_port()  # nothing listens yet: the first attempt fails
    fail_first_attempt(data_dir, port)
    with webhook_receiver(port=port) as hook:  # the receiver is back
        [alert] = next_process_later(data_dir)
    assert alert["state"] == "delivered" and alert["attempts"] == 2
    assert len(hook.deliveries) == 1
    verify(hook.deliveries[0])


def _events_of(data_dir: Path, aggregate_id: str) -> list[Any]:
    reader = EventReader(data_dir)
    try:
        return list(reader.app.recorder.select_events(uuid.UUID(aggregate_id)))
    finally:
        reader.close()


# --- secrets --------------------------------------------------------------------------------------

@BOTH_STORES
def test_the_webhook_url_and_secret_are_nowhere_in_clear_and_die_with_the_rule(
        data_dir: Path, receiver: WebhookReceiver) -> None:
    rt = open_runtime(data_dir, **FAST)
    try:
        rule_id = add_rule(rt, receiver.url, kind="starts-ranking")
        outcome(rt, None)
        outcome(rt, 1)
        settled(rt)
        listed = call(rt, "alerts:list-rules")
        assert listed[0]["target"].endswith("/...") and TOKEN not in str(listed)
        follow: list[dict[str, Any]] = []

        def keep(event: dict[str, Any]) -> bool:
            follow.append(event)
            return False

        rt.follow(0, keep, timeout=0.0)
        assert follow and TOKEN not in str(follow) and SECRET not in str(follow)
        call(rt, "alerts:remove-rule", name="r")
        assert rt.keystore.get(uuid.UUID(rule_id)) is None
    finally:
        rt.close()
    for needle in (SECRET, TOKEN):
        assert files_containing(data_dir, needle.encode()) == []
    assert len(receiver.deliveries) == 1


@BOTH_STORES
def test_two_processes_writing_at_once_deliver_each_alert_exactly_once(
        data_dir: Path, receiver: WebhookReceiver) -> None:
    rt = open_runtime(data_dir, **FAST)
    try:
        add_rule(rt, receiver.url, kind="moves", threshold=1)
    finally:
        rt.close()
    writers = [subprocess.Popen(
        [sys.executable, "-m", "tests.integration.alert_writer", str(data_dir), keyword, "12"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "VIPB_KEYRING": "off"}) for keyword in ("alpha", "beta")]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and "DONE" in out, err
    rt = open_runtime(data_dir, **FAST)  # whatever a writer left for the next process
    try:
        rt.courier.activate()
        alerts = settled(rt)
    finally:
        rt.close()
    assert len(alerts) == 22 and {a["state"] for a in alerts} == {"delivered"}
    ids = [d.headers["X-Vipb-Delivery"] for d in receiver.deliveries]
    assert sorted(ids) == sorted(a["id"] for a in alerts)  # each once, none missing


@BOTH_STORES
def test_status_and_metrics_count_alerts_by_delivery_state(data_dir: Path) -> None:
    from prometheus_client.core import CollectorRegistry

    from service.metrics import RankCollector
    from service.status import runtime_status

    with webhook_receiver(statuses=[200]) as ok, webhook_receiver(statuses=[404]) as gone:
        rt = open_runtime(data_dir, **FAST)
        try:
            add_rule(rt, ok.url, name="ok", kind="starts-ranking")
            add_rule(rt, gone.url, name="gone", kind="starts-ranking")
            outcome(rt, None)
            outcome(rt, 7)
            settled(rt)
            status = runtime_status(rt)
            registry = CollectorRegistry(auto_describe=False)
            registry.register(RankCollector(rt.reader))
            scraped = {s.labels["state"]: s.value for f in registry.collect()
                       for s in f.samples if s.name == "vipb_alerts"}
        finally:
            rt.close()
    expected = {"pending": 0, "retrying": 0, "delivered": 1, "failed": 1}
    assert status["alerts"] == expected
    assert scraped == {k: float(v) for k, v in expected.items()}


@BOTH_STORES
def test_an_alert_whose_rule_was_removed_is_given_up_not_sent(data_dir: Path) -> None:
    port = free_port()
    fail_first_attempt(data_dir, port, remove=True)
    with webhook_receiver(port=port) as hook:
        [alert] = next_process_later(data_dir)
    assert (alert["state"], alert["attempts"]) == ("failed", 2)
    assert alert["last_error"] == "the rule was removed before delivery"
    assert hook.deliveries == []


class Trickler:
    """A webhook receiver that answers a 200 with a large ``Content-Length`` and then one
    byte at a time, for as long as the client stays (at most ``limit`` seconds): it counts
    the connections open at once."""

    def __init__(self, limit: float = 20.0) -> None:
        self.limit = limit
        self.open = 0
        self.most_open = 0
        self.lock = threading.Lock()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            await reader.readuntil(b"\r\n\r\n")
            gone = asyncio.ensure_future(reader.read())  # ends when the client hangs up
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 1000000\r\n\r\n")
            for _ in range(int(self.limit / 0.2)):
                writer.write(b".")
                await writer.drain()
                # the trickle's pace, cut short the moment the client hangs up
                await asyncio.wait([gone], timeout=0.2)
                if gone.done():
                    break
            gone.cancel()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with self.lock:
                self.open -= 1
            writer.close()


def test_a_trickling_receiver_holds_one_worker_for_one_deadline_and_no_other_receiver(
        data_dir: Path, receiver: WebhookReceiver) -> None:
    """Issue 30, point 9: before, the timeout was per read (a byte every 0.2 s never
    tripped it) and both delivery workers could be held by one receiver's alerts."""
    trickler = Trickler()
    with tcp_server(trickler.handle) as port:
        rt = open_runtime(data_dir, **{**FAST, "alert_attempts": 1,
                                       "alert_attempt_timeout": 1.5})
        try:
            for i in range(3):
                add_rule(rt, f"http://127.0.0.1:{port}", name=f"slow-{i}",
                         kind="starts-ranking")
            add_rule(rt, receiver.url, name="fine", kind="starts-ranking")
            outcome(rt, None)
            outcome(rt, 1)
            assert receiver.wait_for(1), "the other receiver got its alert"
            alerts = {a["rule"]: a for a in settled(rt)}
            with trickler.lock:
                most_open = trickler.most_open
        finally:
            rt.close()
    assert alerts["fine"]["state"] == "delivered"
    for i in range(3):
        slow = alerts[f"slow-{i}"]
        assert (slow["state"], slow["attempts"]) == ("failed", 1), slow
        assert slow["last_error"] == "no complete answer within 1.5 s"
    assert most_open == 1, "one slow receiver held one delivery worker at a time"
