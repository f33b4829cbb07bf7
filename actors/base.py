"""The base class of vipb's actors, with a cheaper inbox and reply future than pykka's
defaults (the actor hop is the largest CPU cost of a command; see scripts/bench)."""

from __future__ import annotations

import _thread
import functools
import queue
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pykka
from pykka import Timeout

from actors.supervision import current
from domain.waits import idle_wait

T = TypeVar("T")


@dataclass(frozen=True)
class _Outcome:
    """What a future was set to: a value, or the exception info to raise."""

    value: Any = None
    exc_info: Any = None


class LockFuture(pykka.Future[T]):
    """A pykka future that waits on one C-level lock instead of a Python ``Condition``.

    Same contract as ``pykka.ThreadingFuture`` (set once, get many times, get hooks for
    ``map``/``join``), about half the CPU per ask/reply; built on the public
    ``pykka.Future`` alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self._result: _Outcome | None = None
        self._done = _thread.allocate_lock()
        self._done.acquire()

    def get(self, *, timeout: float | None = None) -> Any:
        """Wait for the value (or hook result); raise the stored exception if any."""
        if self._get_hook is None and self._result is None:
            if not self._done.acquire(timeout=-1 if timeout is None else timeout):
                raise Timeout(f"{timeout} seconds")
            self._done.release()  # let other waiters through
        if self._get_hook is not None:
            return pykka.Future.get(self, timeout=timeout)
        result = self._result
        assert result is not None
        if result.exc_info is not None:
            exc_type, exc_value, exc_traceback = result.exc_info
            assert exc_type is not None
            if exc_value is None:
                exc_value = exc_type()
            raise exc_value.with_traceback(exc_traceback)
        return result.value

    def set(self, value: Any | None = None) -> None:
        """Store the value and wake the waiters."""
        self._store(_Outcome(value=value))

    def set_exception(self, exc_info: Any = None) -> None:
        """Store an exception (``sys.exc_info()`` by default) and wake the waiters."""
        self._store(_Outcome(exc_info=exc_info or sys.exc_info()))

    def _store(self, result: _Outcome) -> None:
        if self._result is not None or self._get_hook is not None:
            raise queue.Full
        self._result = result
        self._done.release()

    def set_get_hook(self, func: Any) -> None:
        """Compute the value lazily with ``func`` (pykka's map/filter/join)."""
        if self._result is not None:
            raise queue.Full
        pykka.Future.set_get_hook(self, func)
        self._done.release()


class VipbActor(pykka.ThreadingActor):
    """A ThreadingActor with a ``SimpleQueue`` inbox and ``LockFuture`` replies.

    pykka's default inbox is ``queue.Queue`` (a lock and three conditions in Python); the
    C-implemented ``SimpleQueue`` offers the ``put``/``get``/``empty`` pykka uses.
    ``_create_actor_inbox`` and ``_create_future`` are pykka's hooks for implementors of
    actor types.
    """

    @staticmethod
    def _create_actor_inbox() -> Any:
        return queue.SimpleQueue()

    def ready(self) -> bool:
        """Answered once ``on_start`` has finished (an actor that died in it answers
        ``ActorDeadError``)."""
        return True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """pykka stops an actor whose ``on_start`` raises without calling ``on_failure``:
        each subclass's ``on_start`` reports such a death itself."""
        super().__init_subclass__(**kwargs)
        start = cls.__dict__.get("on_start")
        if start is None or getattr(start, "_reports_failure", False):
            return

        @functools.wraps(start)
        def on_start(self: VipbActor) -> None:
            try:
                start(self)
            except Exception as exc:
                self._report_death(exc)
                raise

        on_start._reports_failure = True  # type: ignore[attr-defined]
        setattr(cls, "on_start", on_start)  # noqa: B010 - replacing a method on purpose

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """The actor is dying of an unhandled exception in a told message: put it on
        record, so the runtime reports itself degraded."""
        if isinstance(exception_value, BaseException):
            self._report_death(exception_value)

    def _report_death(self, exc: BaseException) -> None:
        supervision = current()
        if supervision is not None:
            supervision.failed(type(self).__name__, exc)

    @staticmethod
    def _create_future() -> Any:
        return LockFuture()


class ClosableInbox:
    """An inbox that refuses messages once its actor has stopped reading it.

    pykka checks ``is_alive()`` before putting, but a message put between that check and the
    end of the actor's loop would sit in a queue nobody reads. ``close`` (under the same lock
    as ``put``) hands back what is queued, and every later ``put`` raises ``ActorDeadError``
    to the sender, so no message is lost unanswered.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = _thread.allocate_lock()
        self._closed = False

    def put(self, item: Any) -> None:
        """Queue a message (``ActorDeadError`` once closed)."""
        with self._lock:
            if self._closed:
                raise pykka.ActorDeadError("the actor has stopped")
            self._queue.put(item)

    @idle_wait
    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next message."""
        return self._queue.get(block, timeout)

    def empty(self) -> bool:
        """Nothing queued?"""
        return self._queue.empty()

    def close(self, take: Callable[[Any], bool]) -> list[Any]:
        """Refuse new messages; hand back the queued ones ``take`` accepts and leave the rest
        (in order) for pykka's own teardown to answer."""
        with self._lock:
            self._closed = True
            taken: list[Any] = []
            left: list[Any] = []
            while not self._queue.empty():
                item = self._queue.get_nowait()
                (taken if take(item) else left).append(item)
            for item in left:
                self._queue.put(item)
            return taken


A = TypeVar("A", bound=pykka.Actor)


class _DeadProxy:
    """Stands in for the proxy of an actor that died before a proxy could be made (pykka
    refuses to build one for a dead actor): every use raises ``ActorDeadError``, as a call
    through a real proxy of a dead actor does."""

    def __init__(self, ref: pykka.ActorRef[Any]) -> None:
        self.actor_ref = ref  # as on a real proxy: is_alive() says False
        self._message = f"{ref.actor_class.__name__} ({ref.actor_urn}) not found"

    def __getattr__(self, name: str) -> Any:
        raise pykka.ActorDeadError(self._message)


def proxy_of(ref: pykka.ActorRef[A]) -> pykka.ActorProxy[A]:
    """``ref.proxy()``, also when the actor already died in ``on_start`` (which, on a busy
    machine, can happen before the starting thread gets here): the failure is on record
    with the supervision, and calls report it."""
    try:
        return ref.proxy()
    except pykka.ActorDeadError:
        return _DeadProxy(ref)  # type: ignore[return-value]
