"""The ``SearchWorkerActor``: runs one search task in its own tab, with bounded retries.

One attempt: open a tab (proxy from the rotation engine, privacy profile), load results
pages until ``depth`` organic results are read or the engine has no more, close the tab,
record a position or "not ranked in N results" per target domain. A failed attempt (proxy,
navigation, HTTP error, captcha, unreadable page) is recorded and retried after a jittered,
capped exponential backoff (tenacity) in a new tab, usually behind another proxy. Waits are
interruptible: stop-search and host shutdown do not wait out a backoff.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pykka
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from actors.base import VipbActor
from actors.tab_actor import TabActor
from actors.tab_supervisor import TabSupervisorActor
from actors.writer import EventWriter
from adapters.config import Settings
from adapters.serp import Engine, SerpBlockedError, SerpError
from domain.automation import FailureReason, SearchTask
from domain.errors import BaseError, ProfileNotFoundError, ProxyNotFoundError
from domain.ranking import rank

log = logging.getLogger(__name__)

TIMEOUT = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a search is retried."""

    attempts: int
    initial: float  # seconds before the first retry
    maximum: float  # cap on any single wait
    jitter: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the host settings ask for (``VIPB_SEARCH_*``)."""
        return cls(attempts=settings.search_attempts, initial=settings.search_retry_initial,
                   maximum=settings.search_retry_max)


class CancelToken:
    """Set by stop-search (``stopped``) or shutdown (``interrupted``); waits end at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []
        self.reason = ""
        self.interrupted = False

    def cancel(self, reason: str, interrupted: bool = False) -> None:
        """Ask the task to end (``interrupted``: it stays pending for the next host); what
        is waiting on the network is aborted (``on_cancel``)."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason, self.interrupted = reason, interrupted
            self._event.set()
            callbacks, self._on_cancel = self._on_cancel, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.debug("a cancel callback failed", exc_info=True)

    @contextlib.contextmanager
    def aborting(self, callback: Callable[[], None]) -> Iterator[None]:
        """Run ``callback`` if the token is cancelled while the block runs (at once if it
        already is): a page load behind a silent proxy ends when the search is stopped."""
        with self._lock:
            fire = self._event.is_set()
            if not fire:
                self._on_cancel.append(callback)
        if fire:
            callback()
        try:
            yield
        finally:
            with self._lock:
                if callback in self._on_cancel:
                    self._on_cancel.remove(callback)

    @property
    def is_set(self) -> bool:
        """True once cancelled."""
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` or until cancelled."""
        self._event.wait(seconds)


class AttemptFailed(Exception):
    """One attempt failed; ``retryable`` when another attempt may not meet the reason (a
    profile or proxy that does not exist fails every attempt the same way)."""

    def __init__(self, message: str, reason: FailureReason, retryable: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable


class Cancelled(Exception):
    """The token was set."""


@dataclass(frozen=True)
class Run:
    """Told by the tracker: run the task."""


@dataclass(frozen=True)
class TaskDone:
    """Told to the tracker when a worker is finished with its task."""

    task_id: str


Outcome = Callable[[str, bool, float | None], None]


class SearchWorkerActor(VipbActor):
    """Runs one ``SearchTask`` to an outcome, then stops."""

    def __init__(self, task: SearchTask, writer: EventWriter,
                 tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]], engine: Engine,
                 token: CancelToken, done: pykka.ActorRef[Any],
                 policy: RetryPolicy, outcome: Outcome | None = None) -> None:
        super().__init__()
        self._task = task
        self._writer = writer
        self._tabs = tabs
        self._engine = engine
        self._token = token
        self._done = done
        self._policy = policy
        self._outcome = outcome

    def on_receive(self, message: Any) -> Any:
        """``Run``: do the task, tell the tracker, stop."""
        if isinstance(message, Run):
            try:
                self._run()
            except Exception as exc:  # a bug: still give the task an outcome on record
                log.exception("search task %s: unexpected error", self._task.id)
                self._give_up(f"internal error: {type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(pykka.ActorDeadError):  # tracker stopping: it knows
                    self._done.tell(TaskDone(str(self._task.id)))
                self.stop()
        return None

    def _run(self) -> None:
        task, policy = self._task, self._policy
        attempts = iter(range(task.attempts + 1, 1_000_000))  # a resumed task counts on
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum,
                                         jitter=policy.jitter),
            retry=retry_if_exception(lambda e: isinstance(e, AttemptFailed) and e.retryable),
            sleep=self._token.sleep,
            before_sleep=self._retrying,
            reraise=True,
        )
        try:
            results, pages = retrying(lambda: self._attempt(next(attempts)))
        except Cancelled:
            self._cancelled()
            return
        except AttemptFailed as exc:
            task.failed(attempt=task.attempts, error=str(exc), retry_in=None,
                        reason=exc.reason.value)
            self._writer.save(task)
            return
        rankings = rank(results, task.domains)
        for r in rankings:
            if r.position is None:
                task.not_ranked(domain=r.domain, results_scanned=r.scanned)
            else:
                assert r.url is not None
                task.position_recorded(domain=r.domain, position=r.position, url=r.url,
                                       results_scanned=r.scanned)
        task.completed(results_scanned=len(results), pages=pages,
                       ranked=sum(r.position is not None for r in rankings))
        self._writer.save(task)

    def _give_up(self, error: str) -> None:
        task = self._task
        try:
            if not task.finished:
                task.failed(attempt=task.attempts, error=error.splitlines()[0][:500],
                            retry_in=None, reason=FailureReason.INTERNAL.value)
                self._writer.save(task)
        except Exception:
            log.exception("search task %s: recording the failure failed", task.id)

    def _retrying(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = error.reason if isinstance(error, AttemptFailed) else FailureReason.INTERNAL
        self._task.failed(attempt=self._task.attempts, error=str(error),
                          retry_in=round(wait, 2), reason=reason.value)
        self._writer.save(self._task)

    def _cancelled(self) -> None:
        task, token = self._task, self._token
        if token.interrupted:  # stays pending: the next host start resumes it
            task.failed(attempt=task.attempts, error=f"interrupted: {token.reason}",
                        retry_in=0.0, reason=FailureReason.INTERRUPTED.value)
        else:
            task.cancelled(reason=token.reason or "stopped")
        self._writer.save(task)

    # --- one attempt ---------------------------------------------------------------------------

    def _attempt(self, attempt: int) -> tuple[list[str], int]:
        if self._token.is_set:
            raise Cancelled()
        task = self._task
        try:
            first_page = self._engine.url(task.keyword, 0, task.country)  # for the pick
            info = self._tabs().create(first_page, task.profile, task.proxy, task.country,
                                       f"rank {task.id.hex[:8]}").get(timeout=TIMEOUT)
        except BaseError as exc:
            self._record_start(attempt, None, None)
            permanent = isinstance(exc, ProfileNotFoundError | ProxyNotFoundError)
            raise AttemptFailed(f"no tab: {exc.message}", FailureReason.NO_TAB,
                                retryable=not permanent) from None
        tab_id, proxy_id = info["id"], info["proxy_id"]
        self._record_start(attempt, proxy_id, tab_id)
        try:
            tab = self._tabs().tab(tab_id).get(timeout=TIMEOUT)
            return self._read_pages(tab, proxy_id)
        finally:
            try:
                self._tabs().close(tab_id, "search attempt finished").get(timeout=TIMEOUT)
            except Exception:
                log.warning("search task %s: closing tab %s failed", task.id, tab_id)

    def _record_start(self, attempt: int, proxy_id: str | None, tab_id: str | None) -> None:
        self._task.started(attempt=attempt, proxy_id=proxy_id, tab_id=tab_id or "")
        self._writer.save(self._task)

    def _read_pages(self, tab: pykka.ActorProxy[TabActor],
                    proxy_id: str | None) -> tuple[list[str], int]:
        task = self._task
        results: list[str] = []
        pages = 0
        while len(results) < task.depth:
            if self._token.is_set:
                raise Cancelled()
            url = self._engine.url(task.keyword, len(results), task.country)
            page_handle = tab.page_handle().get(timeout=TIMEOUT)
            try:
                with self._token.aborting(page_handle.abort):
                    nav = tab.navigate(url).get(timeout=TIMEOUT)
                if nav["status"] is not None and nav["status"] >= 400:
                    raise AttemptFailed(f"{self._engine.name} answered HTTP {nav['status']}",
                                        FailureReason.HTTP_ERROR)
                page = self._engine.parse(tab.content().get(timeout=TIMEOUT), nav["url"])
            except SerpBlockedError as exc:
                if proxy_id and self._outcome:
                    self._outcome(proxy_id, False, None)  # this exit IP is challenged
                raise AttemptFailed(exc.message, FailureReason.BLOCKED) from None
            except SerpError as exc:
                raise AttemptFailed(exc.message, FailureReason.UNREADABLE) from None
            except BaseError as exc:
                if self._token.is_set:
                    raise Cancelled() from None  # the load was aborted by the stop
                raise AttemptFailed(exc.message, FailureReason.LOAD_FAILED) from None
            pages += 1
            fresh = [u for u in page.results if u not in results]
            results.extend(fresh)
            if not page.has_next or not fresh:
                break
        return results[:task.depth], pages
