"""Several hosts on one PostgreSQL store, as separate processes: heartbeats, one projector,
and failover when the projector is killed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from adapters.secrets import KEY_FILE
from tests.helpers import Cli, cli_runner
from tests.hosts import RunningHost


@pytest.fixture
def cluster_dirs(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
                 ) -> list[tuple[Path, Cli]]:
    """Three data dirs on one store, sharing the master key (as hosts of one cluster do:
    each its own data dir, socket and logs)."""
    monkeypatch.setenv("VIPB_STORE", pg_url)
    dirs = []
    for name in ("a", "b", "c"):
        root = tmp_path / name
        if dirs:
            root.mkdir(mode=0o700)
            shutil.copy2(dirs[0][0] / KEY_FILE, root / KEY_FILE)
            os.chmod(root / KEY_FILE, 0o600)
        run = cli_runner(root)
        init = run("init", "--json")
        assert init.code == 0, init.err
        assert init.json()["created"] is (not dirs)  # one store: made once
        dirs.append((root, run))
    return dirs


def test_one_host_projects_and_another_takes_over_when_it_is_killed(
        cluster_dirs: list[tuple[Path, Cli]]) -> None:
    (dir_a, cli_a), (dir_b, cli_b), _ = cluster_dirs
    host_a = RunningHost(dir_a, "--host-id", "a")
    host_b = RunningHost(dir_b, "--host-id", "b")
    status = cli_b("status", "--json").json()
    cluster = status["cluster"]
    assert cluster["host_id"] == "b" and cluster["projector"] == "a"
    assert {(h["host_id"], h["state"]) for h in cluster["hosts"]} == {("a", "up"), ("b", "up")}
    # a write on b is read back on b: b's reads wait for a's projection of it
    added = cli_b("proxy", "add", "http://127.0.0.1:3128", "--json")
    assert added.code == 0, added.err
    assert [r["id"] for r in cli_b("proxy", "list", "--json").json()] == [added.json()["id"]]
    host_a.kill()  # SIGKILL: no goodbye, its session and lock end with the process
    assert host_b.log.wait_for(
        lambda lines: any("host b now projects the read models" in x for x in lines), 60), \
        "".join(host_b.log.lines[-20:])
    second = cli_b("proxy", "add", "http://127.0.0.1:3129", "--json")
    assert second.code == 0, second.err
    listed = {r["id"] for r in cli_b("proxy", "list", "--json").json()}
    assert listed == {added.json()["id"], second.json()["id"]}
    status = cli_b("status", "--json").json()
    assert status["cluster"]["projector"] == "b" and status["projection_lag"] == 0
    states = {h["host_id"]: h["state"] for h in status["cluster"]["hosts"]}
    assert states["b"] == "up" and states["a"] in ("up", "silent")  # a: until it falls silent
    verified = cli_b("audit", "verify", "--json")
    assert verified.code == 0, verified.out + verified.err
    assert host_b.stop() == 0
    left = cli_a("status", "--json").json()  # no host on a: read from the store directly
    assert left.get("host") != "running"
