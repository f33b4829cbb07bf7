"""A creator check on a fake tab supervisor (a subclass of the real one that only refuses):
a retryable failure waits out its backoff, and stopping (the host shutting down) ends that
wait at once with the last failure as the result."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from actors.base import VipbActor
from actors.creator_check import CheckResult, CreatorCheck
from actors.retries import RetryPolicy
from actors.tab_supervisor import TabSupervisorActor
from domain.errors import ProxyError


class RefusingTabs(TabSupervisorActor):
    """No tab can be had (no proxy available): a retryable failure, every time."""

    def __init__(self, asked: threading.Event) -> None:
        VipbActor.__init__(self)  # none of the supervisor's parts: it refuses before them
        self.asked = asked
        self.calls = 0

    def on_start(self) -> None:
        """No engine to listen to."""

    def on_stop(self) -> None:
        """No tabs to close."""

    def prepare(self, url: str | None, profile: str, proxy: str, country: str | None,
                avoid: tuple[str, ...] = (), fresh: str | None = None) -> Any:
        """Refuse, and say it was asked."""
        self.calls += 1
        self.asked.set()
        raise ProxyError("no proxy available for this tab")


@pytest.fixture
def asked() -> Iterator[threading.Event]:
    yield threading.Event()
    pykka.ActorRegistry.stop_all()


class ObservedCheck(CreatorCheck):
    """Says when it starts waiting to retry."""

    waiting = threading.Event()

    def _wait(self, seconds: float) -> None:
        self.waiting.set()
        super()._wait(seconds)


def test_stopping_ends_a_check_waiting_to_retry(asked: threading.Event) -> None:
    tabs: Any = RefusingTabs.start(asked).proxy()
    check = ObservedCheck(lambda: tabs, RetryPolicy(attempts=5, initial=60.0, maximum=60.0))
    results: list[CheckResult] = []
    worker = threading.Thread(target=lambda: results.append(
        check.run("https://example.com/@jane", "creator jane", "default", "auto", None)))
    worker.start()
    assert asked.wait(30) and check.waiting.wait(30)  # failed once; the next try is 60 s off
    check.stop()
    worker.join(30)
    assert not worker.is_alive(), "the check kept waiting to retry"
    [result] = results
    assert (result.reachable, result.reason, result.attempts) == (False, "no_tab", 1)
    assert tabs.calls.get() == 1
