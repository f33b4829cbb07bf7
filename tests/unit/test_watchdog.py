"""The shutdown watchdog names busy threads and leaves out the ones waiting for work: an
actor waiting on its inbox, and a loop marked ``@idle_wait``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pykka
import pytest

from actors.base import VipbActor
from domain.waits import idle_wait
from service.watchdog import busy

Events = tuple[threading.Event, threading.Event]
HERE = (str(Path(__file__).parent) + "/",)  # this file counts as our code here


class _Worker(VipbActor):
    def __init__(self, release: threading.Event, entered: threading.Event) -> None:
        super().__init__()
        self._release, self._entered = release, entered

    def thread_id(self) -> int:
        return threading.get_ident()

    def work(self) -> None:
        self._entered.set()
        self._release.wait(30)


@pytest.fixture
def events() -> Iterator[Events]:
    release, entered = threading.Event(), threading.Event()
    yield release, entered
    release.set()
    pykka.ActorRegistry.stop_all()


def _thread(ident: int) -> threading.Thread:
    return next(t for t in threading.enumerate() if t.ident == ident)


def _run(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def test_an_actor_is_idle_on_its_inbox_and_busy_in_a_method(events: Events) -> None:
    release, entered = events
    actor = _Worker.start(release, entered).proxy()
    thread = _thread(actor.thread_id().get(timeout=10))
    assert busy(thread, HERE) is None, "waiting on the inbox"
    actor.work()
    assert entered.wait(30)
    named = busy(thread, HERE)
    assert named is not None and "test_watchdog.py:" in named and "_Worker.work" in named


def test_a_thread_waiting_on_a_reply_is_named_by_the_caller_not_the_future(
        events: Events) -> None:
    release, entered = events
    actor = _Worker.start(release, entered).proxy()

    def ask_and_wait() -> None:
        actor.work().get(timeout=30)

    caller = _run(ask_and_wait, "vipb-test-caller")
    assert entered.wait(30)
    named = busy(caller, (*HERE, str(Path(__file__).parents[2] / "actors") + "/"))
    assert named is not None and named.startswith("vipb-test-caller (")
    assert "ask_and_wait" in named, named


def test_a_function_marked_idle_wait_is_idle_while_it_waits(events: Events) -> None:
    release, _ = events
    in_loop, in_plain = threading.Event(), threading.Event()

    @idle_wait
    def loop() -> None:
        in_loop.set()
        release.wait(30)

    def plain() -> None:
        in_plain.set()
        release.wait(30)

    idle, working = _run(loop, "vipb-test-idle"), _run(plain, "vipb-test-busy")
    assert in_loop.wait(30) and in_plain.wait(30)
    assert busy(idle, HERE) is None
    named = busy(working, HERE)
    assert named is not None and "plain" in named
