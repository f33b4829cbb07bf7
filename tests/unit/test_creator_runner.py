"""The creator runner alone, on an in-memory writer and the real watch actor, with a check
that is a subclass of the real one: what a scheduled check that cannot run ends with (the
creator removed or disabled since it was queued, its address refused now, an unexpected
error), and that a creator with a pending check is not queued again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from actors.creator_check import CheckResult, CreatorCheck
from actors.creator_runner import CreatorRunner
from actors.creator_watch import CreatorWatchActor
from actors.retries import RetryPolicy
from domain.creator import CreatorCheckTask
from domain.creator_commands import AddCreator, RemoveCreator, UpdateCreator
from domain.egress import EgressPolicy
from domain.parsing import parse_command
from tests.helpers import MemoryWriter


class BrokenCheck(CreatorCheck):
    """A check that fails in an unexpected way (a bug), or records what it was asked."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(lambda: None, RetryPolicy(1, 0.0, 0.0))  # type: ignore[arg-type,return-value]
        self.error = error
        self.asked: list[str] = []
        self.hold = threading.Event()  # cleared: a check waits until it is set
        self.hold.set()

    def run(self, url: str, label: str, profile: str, proxy: str, country: str | None,
            first: int = 1, before: Any = None) -> CheckResult:
        """Raise the error, or answer "reachable" for ``url``."""
        self.asked.append(url)
        assert self.hold.wait(30)
        if self.error is not None:
            raise self.error
        return CheckResult(reachable=True, reason=None, http_status=200, final_url=url,
                           title="t", canonical_url=None, fingerprint="f", latency_ms=1.0,
                           proxy_id=None, attempts=first)


@pytest.fixture
def writer() -> Iterator[MemoryWriter]:
    yield MemoryWriter()
    pykka.ActorRegistry.stop_all()


def _runner(writer: MemoryWriter, check: CreatorCheck) -> tuple[CreatorRunner, Any]:
    watch = CreatorWatchActor.start(writer, lambda: []).proxy()
    for name in ("jane", "joe"):
        watch.add(parse_command(AddCreator, {
            "name": name, "url": f"https://{name}.example/@{name}"})).get()
    runner = CreatorRunner(check, watch, EgressPolicy.from_settings(False, []), 1, writer)
    return runner, watch


def _outcome(writer: MemoryWriter, task: CreatorCheckTask) -> tuple[str, str | None]:
    [finished] = [e for e in writer.named("CreatorCheckFinished")
                  if e.originator_id == task.id]
    return finished.outcome, finished.note


def _queue(writer: MemoryWriter, runner: CreatorRunner) -> list[CreatorCheckTask]:
    tasks = runner.prepare(True, None, "default", "direct", "schedule:s")
    writer.save(*tasks)
    return tasks


def test_checks_of_creators_removed_or_disabled_since_are_skipped_with_why(
        writer: MemoryWriter) -> None:
    check = BrokenCheck()
    runner, watch = _runner(writer, check)
    jane, joe = _queue(writer, runner)
    watch.remove(parse_command(RemoveCreator, {"name": "jane"})).get()
    watch.update(parse_command(UpdateCreator, {"name": "joe", "enabled": False})).get()
    assert runner.accept([jane, joe]) == ["jane", "joe"]
    assert runner.idle(30)
    assert _outcome(writer, jane) == ("skipped", "the creator was removed before it was "
                                                 "checked")
    assert _outcome(writer, joe) == ("skipped", "the creator was disabled before it was "
                                                "checked")
    assert check.asked == [] and writer.named("CreatorChecked") == []


def test_a_check_whose_address_is_refused_now_is_skipped_with_the_refusal(
        writer: MemoryWriter) -> None:
    check = BrokenCheck()
    runner, watch = _runner(writer, check)
    watch.update(parse_command(UpdateCreator, {"name": "joe",
                                               "url": "http://10.1.2.3/@joe"})).get()
    _jane, joe = _queue(writer, runner)
    runner.accept([joe])
    assert runner.idle(30)
    outcome, note = _outcome(writer, joe)
    assert outcome == "skipped" and note is not None and note.startswith("url: ")
    assert check.asked == []


def test_an_unexpected_error_ends_the_check_as_failed_and_named(writer: MemoryWriter) -> None:
    runner, _watch = _runner(writer, BrokenCheck(RuntimeError("boom")))
    jane, _joe = _queue(writer, runner)
    runner.accept([jane])
    assert runner.idle(30)
    assert _outcome(writer, jane) == ("failed", "internal error: RuntimeError: boom")


def test_a_creator_whose_check_is_pending_is_not_queued_again(writer: MemoryWriter) -> None:
    check = BrokenCheck()
    check.hold.clear()
    runner, _watch = _runner(writer, check)
    jane, _joe = _queue(writer, runner)
    runner.accept([jane])
    assert [t.name for t in runner.prepare(True, None, "default", "direct", "s")] == ["joe"]
    check.hold.set()
    assert runner.idle(30)
    assert _outcome(writer, jane) == ("checked", None)
    assert [t.name for t in runner.prepare(True, None, "default", "direct", "s")] == [
        "jane", "joe"]
