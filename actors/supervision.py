"""Actor failures on record in the process: an actor that dies (its ``on_start`` or a told
message raised) is never silent. Its failure, with the stored event that caused it when
there is one, makes the runtime ``degraded``: `vipb status` shows it and exits 1, the
metrics export it, and commands that need the dead actor get a clear error instead of
"internal error".

A restart would not help the failures this is for (an event that cannot be read fails the
same way every time), so the actor stays down until the cause is fixed and the host is
restarted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)

Locate = Callable[[UUID, int], int | None]  # (aggregate id, version) -> notification id


@dataclass(frozen=True)
class ActorFailure:
    """One actor that died: which, why, when, and the event it could not read (if any)."""

    actor: str
    error: str
    at: str
    event: dict[str, Any] | None = None

    def describe(self) -> str:
        """One line for errors and logs."""
        where = ""
        if self.event is not None:
            where = f" (notification {self.event.get('notification_id') or '?'})"
        return f"{self.actor} is down{where}: {self.error}"


class Supervision:
    """The failures of this process's actors (thread-safe)."""

    def __init__(self, locate: Locate | None = None) -> None:
        self._locate = locate
        self._lock = threading.Lock()
        self._failures: list[ActorFailure] = []

    def failed(self, actor: str, exc: BaseException) -> ActorFailure:
        """Record that ``actor`` died of ``exc``."""
        failure = ActorFailure(actor=actor, error=str(exc) or type(exc).__name__,
                               at=datetime.now(UTC).isoformat(timespec="seconds"),
                               event=self._event_of(exc))
        with self._lock:
            self._failures.append(failure)
        log.error("actor failed: %s", failure.describe())
        return failure

    def _event_of(self, exc: BaseException) -> dict[str, Any] | None:
        seen: BaseException | None = exc
        while seen is not None:  # the unreadable event may be a cause further down
            originator = getattr(seen, "originator_id", None)
            version = getattr(seen, "version", None)
            if isinstance(originator, UUID) and isinstance(version, int):
                notification = None
                if self._locate is not None:
                    try:
                        notification = self._locate(originator, version)
                    except Exception:  # a report must not fail on a second problem
                        log.exception("could not locate the failing event")
                return {"notification_id": notification, "aggregate_id": str(originator),
                        "version": version, "topic": getattr(seen, "topic", None)}
            seen = seen.__cause__ or seen.__context__
        return None

    @property
    def degraded(self) -> bool:
        """Whether any actor has died."""
        with self._lock:
            return bool(self._failures)

    def failures(self) -> list[ActorFailure]:
        """Every failure so far, oldest first."""
        with self._lock:
            return list(self._failures)

    def report(self) -> dict[str, Any]:
        """``{"health": "ok" | "degraded", "failures": [...]}`` for status and metrics."""
        failures = self.failures()
        return {"health": "degraded" if failures else "ok",
                "failures": [asdict(f) for f in failures]}


_current: Supervision | None = None


def install(supervision: Supervision) -> None:
    """Make ``supervision`` the one this process's actors report to (the runtime does)."""
    global _current
    _current = supervision


def uninstall(supervision: Supervision) -> None:
    """Stop reporting to ``supervision`` (the runtime's close)."""
    global _current
    if _current is supervision:
        _current = None


def current() -> Supervision | None:
    """Where actor failures go now."""
    return _current
