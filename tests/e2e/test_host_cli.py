"""`vipb host run` as a real process: the CLI goes through its socket, SIGTERM shuts it down
gracefully, and SIGKILL at random points of a busy host loses nothing acknowledged."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.runtime import DataPaths, EventReader
from adapters.control import ControlClient, HostUnavailable
from tests.e2e.conftest import ENTRY, Cli
from tests.servers import LineLog


class RunningHost:
    """A `vipb host run` process; started when its log says so (no polling)."""

    def __init__(self, data_dir: Path, **extra_env: str) -> None:
        env = {**os.environ, "VIPB_DATA_DIR": str(data_dir), "VIPB_KEYRING": "off",
               "PYTHONUNBUFFERED": "1", **extra_env}
        self.process = subprocess.Popen([*ENTRY, "host", "run"], stderr=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, text=True, env=env)
        self.log = LineLog()
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if '"host started' in line:
                break
        else:
            raise AssertionError(f"host did not start: {''.join(self.log.lines)}")
        threading.Thread(target=self._drain, daemon=True).start()
        self.socket = DataPaths(data_dir).socket

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(60)


@pytest.fixture
def data(cli: Cli, tmp_path: Path) -> Path:
    assert cli("init").code == 0
    return tmp_path / "data"


@pytest.fixture
def host(data: Path) -> Iterator[RunningHost]:
    running = RunningHost(data)
    yield running
    if running.process.poll() is None:
        running.stop(signal.SIGKILL)


def test_cli_goes_through_the_host_and_sigterm_is_graceful(cli: Cli, data: Path,
                                                           host: RunningHost) -> None:
    added = cli("proxy", "add", "socks5://alice:pw@127.0.0.1:1080", "--country", "DE", "--json")
    assert added.code == 0, added.err
    status = cli("status", "--json").json()
    assert status["host"] == "running" and status["pid"] == host.process.pid
    assert status["proxies"] == {"unknown": 1}
    assert cli("proxy", "list", "--json").json()[0]["country"] == "DE"
    lines = "\n".join(f"127.0.0.1:{6000 + n}" for n in range(30)) + "\nnot a proxy\n"
    imported = cli("proxy", "import", "-", "--json", input=lines)  # one call, not 30 adds
    assert imported.code == 1
    assert (len(imported.json()["imported"]), imported.json()["errors"][0]["line"]) == (30, 31)
    bad = cli("proxy", "add", "http://127.0.0.1:0")
    assert bad.code == 2 and bad.err.startswith("vipb: error: ")
    again = cli("host", "run")
    assert again.code == 2 and "a host already runs" in again.err
    assert host.stop(signal.SIGTERM) == 0
    assert not host.socket.exists()
    messages = [json.loads(line)["msg"] for line in host.log.lines if line.startswith("{")]
    assert messages[-2:] == ["host stopping", "host stopped"]
    offline = cli("status", "--json").json()  # the CLI falls back to the data dir
    assert offline["host"] == "not running" and offline["proxies"] == {"unknown": 31}


def _storm(socket: Path, proxy_ids: list[str], acked: list[tuple[int, str]],
           enough: threading.Event, kill_after: int, offset: int) -> None:
    try:
        with ControlClient(socket, timeout=30) as client:
            n = 0
            while True:
                proxy_id = proxy_ids[n % len(proxy_ids)]
                reply = client.call("proxy:update", {"proxy_id": proxy_id,
                                                     "weight": (offset + n) % 999 + 1})
                if not reply.get("success"):
                    break
                if reply["data"]["changed"]:  # an unchanged weight appends nothing
                    acked.append((reply["data"]["position"], proxy_id))
                n += 1
                if n == kill_after:
                    enough.set()
    except (HostUnavailable, OSError, ValueError):
        pass  # the host was killed under us
    finally:
        enough.set()


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_acknowledged(data: Path) -> None:
    rng = random.Random(20261125)
    host = RunningHost(data)
    with ControlClient(host.socket) as client:
        proxy_ids = [client.call("proxy:add", {"protocol": "http", "host": "127.0.0.1",
                                               "port": 5000 + n})["data"]["id"]
                     for n in range(4)]
    for round_ in range(20):
        acked: list[tuple[int, str]] = []
        enough = threading.Event()
        storm = threading.Thread(target=_storm, args=(host.socket, proxy_ids, acked, enough,
                                                      rng.randint(1, 150), round_ * 151))
        storm.start()
        assert enough.wait(60)
        host.stop(signal.SIGKILL)
        storm.join(60)
        reader = EventReader(data)
        try:
            for position, proxy_id in acked:
                (note,) = reader.app.recorder.select_notifications(start=position, limit=1)
                assert (note.id, str(note.originator_id)) == (position, proxy_id), round_
        finally:
            reader.close()
        host = RunningHost(data)  # restart: the views catch up with what was committed
        with ControlClient(host.socket) as client:
            head = client.call("host:settle")["data"]["position"]
            assert acked == [] or head >= acked[-1][0]
            status = client.call("projections:status")["data"]
            assert {s["lag"] for s in status} == {0}
    with ControlClient(host.socket) as client:
        before = client.call("proxy:list")["data"]
        client.call("projections:rebuild", {})
        assert client.call("proxy:list")["data"] == before  # incremental == full rebuild
    assert host.stop(signal.SIGTERM) == 0


def test_audit_and_replay_through_the_cli(cli: Cli, data: Path, tmp_path: Path) -> None:
    import sqlite3

    for port in (7001, 7002, 7003):
        assert cli("proxy", "add", f"http://u:pw@127.0.0.1:{port}").code == 0
    ok = cli("audit", "verify", "--json")
    assert ok.code == 0 and ok.json()["checked"] == 6
    replayed = cli("events", "replay", "--until", "2", "--json").json()
    rows = cli("query", "proxies", "--db", replayed["db"], "--json").json()
    assert [r["port"] for r in rows] == [7001]
    export = cli("audit", "export", str(tmp_path / "log.jsonl"), "--json").json()
    checked = cli("audit", "verify-export", str(tmp_path / "log.jsonl"), "--public-key",
                  export["public_key"], "--json")
    assert checked.code == 0 and checked.json()["ok"] is True
    conn = sqlite3.connect(data / "events.sqlite")
    conn.execute("DELETE FROM stored_events WHERE rowid=3")
    conn.commit()
    conn.close()
    tampered = cli("audit", "verify", "--json")
    assert tampered.code == 1
    assert tampered.json()["problem"]["kind"] == "deleted"
    assert tampered.json()["problem"]["notification_id"] == 3
