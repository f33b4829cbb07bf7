"""A control socket client: one connection, one request at a time."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from domain.errors import BaseError

from ._protocol import encode


class HostUnavailable(BaseError):
    """No host answers on the control socket."""

    code = "host_unavailable"


class ControlClient:
    """Talks to a running host; ``call`` returns the reply envelope."""

    def __init__(self, path: Path, timeout: float | None = 600.0) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise HostUnavailable(f"no host on {path} ({exc.strerror or exc})") from None
        self._file = self._sock.makefile("rb")

    def call(self, channel: str, payload: dict[str, Any] | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Send one request and read its reply envelope; with ``progress``, the host reports
        a long command's advance first (``progress(done, total)`` for each report)."""
        request: dict[str, Any] = {"channel": channel, "payload": payload or {}}
        if progress is not None:
            request["progress"] = True
        self._sock.sendall(encode(request))
        while True:
            line = self._file.readline()
            if not line:
                raise HostUnavailable("the host closed the connection")
            reply: dict[str, Any] = json.loads(line)
            report = reply.get("progress") if "success" not in reply else None
            if not isinstance(report, dict):
                return reply
            if progress is not None:
                progress(int(report["done"]), int(report["total"]))

    def stream(self, channel: str, payload: dict[str, Any] | None = None
               ) -> Iterator[dict[str, Any]]:
        """Send a streaming request; yield each line the host sends until it closes."""
        self._sock.settimeout(None)
        self._sock.sendall(encode({"channel": channel, "payload": payload or {}}))
        for line in self._file:
            yield json.loads(line)

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(OSError):
            self._file.close()
            self._sock.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def host_running(path: Path) -> bool:
    """Whether a host answers on ``path`` right now."""
    if not path.exists():
        return False
    try:
        with ControlClient(path, timeout=5.0):
            return True
    except HostUnavailable:
        return False
