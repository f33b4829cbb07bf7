"""The CLI's side of a running host: commands over the control socket, reads from the files.

Results come back as JSON; ``RemoteCommands.execute`` turns them into the same typed values
the in-process dispatcher returns, and ``raise_error`` turns error envelopes into the same
exceptions (same exit codes).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter

from adapters.control import ControlClient
from domain import errors
from domain.commands import Command
from domain.errors import BaseError, RateLimitError
from domain.host_commands import Settle
from projections.sql import Connection


@cache
def _reply_adapter(command: type[Command]) -> TypeAdapter[Any] | None:
    """How ``command``'s reply data is revived (None: it stays plain JSON)."""
    return None if command.reply is None else TypeAdapter(command.reply)


def _error_classes() -> dict[str, type[BaseError]]:
    found: dict[str, type[BaseError]] = {}
    todo: list[type[BaseError]] = [BaseError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return found


def raise_error(reply: dict[str, Any]) -> None:
    """Raise the exception an error envelope stands for (class chosen by ``code``)."""
    cls = _error_classes().get(str(reply.get("code")), errors.BaseError)
    error = cls.__new__(cls)
    BaseError.__init__(error, str(reply.get("error", "the host refused the request")))
    details = reply.get("details")
    if isinstance(details, dict):  # proxy_id, field, ...: the error as it was raised
        for name, value in details.items():
            if name != "message" and isinstance(value, str | int | float | bool):
                setattr(error, name, value)
    if isinstance(error, RateLimitError):
        error.retry_after = float(reply.get("retryAfter", 0))
    raise error


def payload_of(command: Command) -> dict[str, Any]:
    """The command as JSON fields, secrets included (the socket is owner-only)."""
    data: dict[str, Any] = {}
    for name in command.model_fields_set:
        value = getattr(command, name)
        data[name] = _plain(value)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value  # enums
    if value is not None and not isinstance(value, str | int | float | bool):
        return str(value)  # UUIDs
    return value


class RemoteCommands:
    """``execute(command)`` through the host."""

    in_process = False

    def __init__(self, client: ControlClient, socket_path: Path) -> None:
        self._client = client
        self._socket = socket_path

    def call(self, channel: str, payload: dict[str, Any] | None = None,
             progress: Any = None) -> Any:
        """One request; the ``data`` of a success, else the matching exception
        (``progress(done, total)``: the host's reports of a long command's advance)."""
        reply = self._client.call(channel, payload or {}, progress)
        if not reply.get("success"):
            raise_error(reply)
        return reply.get("data")

    def execute(self, command: Command, client: str = "local", progress: Any = None) -> Any:
        """Run ``command`` in the host and revive its typed result (``progress`` hears the
        host's reports of a long command; the host applies its rate limits per
        connection)."""
        data = self.call(command.channel, payload_of(command), progress)
        adapter = _reply_adapter(type(command))
        return adapter.validate_python(data) if adapter is not None else data

    def follow(self, after: int | None, until: Callable[[dict[str, Any]], bool],
               timeout: float, events: Collection[str] | None = None) -> bool:
        """Follow the host's ``events:follow`` stream (only ``events``, names, when given)
        on a connection of its own (closed at the timeout, which ends the stream)."""
        payload: dict[str, Any] = {} if after is None else {"after": after}
        if events is not None:
            payload["events"] = sorted(events)
        reached = threading.Event()
        stopped = threading.Event()
        client = ControlClient(self._socket)

        def read() -> None:
            try:
                for message in client.stream("events:follow", payload):
                    if not message.get("success", True):
                        failure.append(message)
                        break
                    event = message.get("event")
                    if event and until(event):
                        reached.set()
                        break
            except (OSError, ValueError):
                pass  # the host stopped, or the connection was closed at the timeout
            finally:
                stopped.set()

        failure: list[dict[str, Any]] = []
        threading.Thread(target=read, name="vipb-follow", daemon=True).start()
        stopped.wait(None if timeout == math.inf else timeout)
        client.close()
        if failure:
            raise_error(failure[0])  # e.g. a bad --after
        return reached.is_set()

    def keep_running(self, what: str, field: str, instead: str = "") -> None:
        """Work started in the host goes on after this command: nothing to check."""


class RemoteReads:
    """Reads while a host runs: the host settles its views, the CLI reads them itself."""

    def __init__(self, commands: RemoteCommands, connect: Callable[[], Connection]) -> None:
        self._commands = commands
        self._connect = connect

    def settle(self) -> None:
        """Wait until the host's views reach its store head."""
        self._commands.execute(Settle())

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A read-only connection to the read models."""
        with closing(self._connect()) as conn:
            yield conn
