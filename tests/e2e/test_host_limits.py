"""A runaway client of the owner's own uid opens connections and says nothing: the host keeps
its descriptors bounded, stays responsive, and its log does not flood."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.helpers import Cli
from tests.hosts import RunningHost

SILENT = 1100  # more than systemd's default soft limit of 1024 open files


@pytest.fixture
def data(cli: Cli, tmp_path: Path) -> Path:
    assert cli("init").code == 0
    return tmp_path / "data"


def _connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))  # blocking: waits while the host's accept backlog is full
    s.settimeout(60)
    return s


def _closed_by_host(s: socket.socket) -> bool:
    """Wait (bounded by the socket timeout) for the host to close this connection."""
    try:
        while chunk := s.recv(4096):
            assert b'"success": false' in chunk or b'"success":false' in chunk, chunk
        return True
    except (ConnectionResetError, TimeoutError):
        return False


def test_1100_silent_connections_at_a_1024_file_limit(cli: Cli, data: Path) -> None:
    host = RunningHost(data, nofile=(1024, 1024), VIPB_CONTROL_MAX_CONNECTIONS="200",
                       VIPB_CONTROL_FIRST_REQUEST_TIMEOUT="5")
    silent = []
    try:
        for _ in range(SILENT):
            silent.append(_connect(host.socket))
        status = cli("status", "--json")
        assert status.code == 0, status.err  # answered while the flood is held open
        control = status.json()["control"]
        assert control["open_file_limit"] == 1024
        assert control["connections"] <= 200
        assert control["dropped"] >= SILENT - 200
        assert cli("proxy", "add", "http://127.0.0.1:3128").code == 0
        assert _closed_by_host(silent[0]), "the oldest idle connection was closed for room"
        assert _closed_by_host(silent[-1]), "a client that never speaks is timed out"
    finally:
        for s in silent:
            s.close()
    assert host.stop() == 0
    dropped_lines = [x for x in host.log.lines if "closed the oldest idle one" in x]
    assert 1 <= len(dropped_lines) <= 6, "repeated lines are rate-limited"
    assert len(host.log.lines) < 200 and sum(map(len, host.log.lines)) < 100_000
    assert not [x for x in host.log.lines if "out of system resource" in x or "Traceback" in x]


def test_the_soft_file_limit_is_raised_to_the_hard_one(cli: Cli, data: Path) -> None:
    host = RunningHost(data, nofile=(512, 4096))
    status = cli("status", "--json")
    assert status.json()["control"]["open_file_limit"] == 4096
    assert host.stop() == 0
    assert any("open-file limit raised from 512 to 4096" in x for x in host.log.lines)
