"""The control server's connection cap on a real Unix socket: the oldest idle connection makes
room for a new one, a connection over a cap of busy ones is told so, and a flood never holds
more client sockets than the cap (each one counted in /proc, not inferred)."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.control._server import ControlServer

CAP = 4


class _Gate:
    """A handler that holds every request until released (makes connections busy)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, channel: str, payload: dict[str, Any], client: str) -> dict[str, Any]:
        self.entered.release()
        assert self.release.wait(30)
        return {"success": True, "data": {"channel": channel}}


@pytest.fixture
def gate() -> _Gate:
    return _Gate()


@pytest.fixture
def server(tmp_path: Path, gate: _Gate) -> Iterator[ControlServer]:
    s = ControlServer(tmp_path / "c.sock", gate, workers=CAP + 2, max_connections=CAP,
                      first_request_timeout=30, idle_timeout=30)
    s.start()
    yield s
    gate.release.set()
    s.stop()


def _connect(server: ControlServer) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(server.path))
    s.settimeout(30)
    return s


def _request(s: socket.socket, channel: str = "host:status") -> None:
    s.sendall(json.dumps({"channel": channel, "payload": {}}).encode() + b"\n")


def _reply(s: socket.socket) -> dict[str, Any]:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return json.loads(buf) if buf else {}


def _server_sockets(path: Path) -> int:
    """Sockets this process holds on the server side of ``path`` (accepted connections)."""
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    # An accepted socket carries the listener's path; the listener itself is in state 01
    # (unconnected) with the listening flag; connected ones are in state 03.
    inodes = {r[6] for r in rows if len(r) >= 8 and r[7] == str(path) and r[5] == "03"}
    held = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def test_a_new_connection_closes_the_oldest_idle_one(server: ControlServer) -> None:
    clients = [_connect(server) for _ in range(CAP + 1)]
    try:
        assert _reply(clients[0]) == {}, "the oldest idle connection is closed by the host"
        assert server.dropped == 1
        # the newest is served once the handler lets go
        _request(clients[-1])
        server_gate = server._handler
        assert isinstance(server_gate, _Gate)
        server_gate.release.set()
        assert _reply(clients[-1])["success"] is True
    finally:
        for c in clients:
            c.close()


def test_a_connection_over_a_cap_of_busy_ones_is_refused(server: ControlServer,
                                                         gate: _Gate) -> None:
    busy = [_connect(server) for _ in range(CAP)]
    try:
        for c in busy:
            _request(c)
        for _ in busy:
            assert gate.entered.acquire(timeout=30), "every connection is in the handler"
        extra = _connect(server)
        refused = _reply(extra)
        extra.close()
        assert refused["success"] is False and refused["code"] == "host_busy", refused
        gate.release.set()
        assert all(_reply(c)["success"] for c in busy), "busy connections are never cut"
    finally:
        for c in busy:
            c.close()


def test_a_flood_never_holds_more_sockets_than_the_cap(server: ControlServer) -> None:
    clients: list[socket.socket] = []
    most = 0
    try:
        for n in range(200):
            clients.append(_connect(server))
            if n % 10 == 0:
                most = max(most, _server_sockets(server.path))
        last = clients[-1]
        _request(last)
        gate = server._handler
        assert isinstance(gate, _Gate)
        gate.release.set()
        assert _reply(last)["success"] is True, "the newest connection is served"
        most = max(most, _server_sockets(server.path))
    finally:
        for c in clients:
            c.close()
    assert 0 < most <= CAP + 1
    assert server.dropped >= 200 - CAP - 1
