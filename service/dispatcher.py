"""The dispatcher: one entry point for every channel of the command registry, used by the CLI
in process and by the host's control socket alike. Parses payloads into command models, applies
each command's rate limit, calls the command's handler (``service.handlers``), and wraps
results in the reply envelope of docs/design.md.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from typing import Any

import pykka
from pydantic import BaseModel

from actors.supervision import Supervision
from adapters.store import storage_problem
from domain.commands import Command
from domain.errors import (
    ActorDownError,
    BaseError,
    DatabaseError,
    RateLimitError,
    ValidationError,
)
from domain.parsing import parse_command
from domain.progress import Progress
from domain.registry import COMMANDS
from domain.selection import Selection
from service.handlers import HANDLERS, PROGRESSIVE, Deps
from service.rate_limit import RateLimiter

log = logging.getLogger(__name__)


class Dispatcher:
    """The command bus: route validated commands to the one handler of their type (the
    table of ``service.handlers``); errors become envelopes, not crashes."""

    def __init__(self, deps: Deps, limiter: RateLimiter | None = None,
                 supervision: Supervision | None = None) -> None:
        self.deps = deps
        self._limiter = limiter
        self._supervision = supervision

    @property
    def channels(self) -> list[str]:
        """Every channel this dispatcher serves."""
        return sorted(COMMANDS)

    def cached_actors(self) -> int:
        """How many proxy actors the proxy handlers keep at hand."""
        return self.deps.proxy_handles.cached_actors()

    def execute(self, command: Command, client: str = "local",
                progress: Progress | None = None) -> Any:
        """Run a validated command; raises a ``BaseError`` subclass on failure.

        ``progress(done, total)`` is reported by long commands (validation) as they advance.
        """
        if self._limiter is not None:
            self._limiter.check(command.channel, client)
        try:
            long_running = PROGRESSIVE.get(type(command))
            if long_running is not None:
                return long_running(command, self.deps, progress)
            handler = HANDLERS.get(type(command))
            if handler is None:
                raise ValidationError(f"no handler for {command.channel}", field="channel")
            return handler(command, self.deps)
        except pykka.ActorDeadError as exc:
            raise self._down(exc) from exc
        except sqlite3.Error as exc:  # a full disk or a read-only mount, named as such
            problem = storage_problem(self.deps.settings.data_dir)
            if problem is None:
                raise
            raise DatabaseError(problem) from exc

    def _down(self, exc: pykka.ActorDeadError) -> ActorDownError:
        """Why an actor this command needs is gone, from the failures on record."""
        failures = self._supervision.failures() if self._supervision is not None else []
        named = [f for f in failures if str(exc).startswith(f.actor)] or failures
        if not named:
            return ActorDownError(f"{str(exc).split(' (')[0]} has stopped (see the log)")
        return ActorDownError("; ".join(f.describe() for f in named[:3])
                              + " (see `vipb status`)")

    def dispatch(self, channel: str, payload: Any, client: str = "local",
                 progress: Progress | None = None) -> dict[str, Any]:
        """Parse, execute and wrap: ``{"success": true, "data": ...}`` or an error envelope
        (``progress``: where a long command reports its advance)."""
        try:
            model = COMMANDS.get(channel)
            if model is None:
                raise ValidationError(f"unknown channel {channel!r}", field="channel")
            data = self.execute(parse_command(model, payload, strict=True), client, progress)
        except RateLimitError as exc:
            return {"success": False, "error": exc.message, "code": exc.code,
                    "retryAfter": round(exc.retry_after, 3), "details": exc.details()}
        except BaseError as exc:
            reply: dict[str, Any] = {"success": False, "error": exc.message, "code": exc.code}
            if exc.details():
                reply["details"] = exc.details()
            return reply
        except Exception:
            log.exception("unexpected error on %s", channel)
            return {"success": False, "error": "internal error (see the host log)",
                    "code": "internal_error"}
        return {"success": True, "data": _jsonable(data)}


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, Selection):
        return dataclasses.asdict(data)
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    return data
