"""Interrupted runs leave nothing pending that nobody runs (issue 30, point 8): Ctrl-C on an
in-process `rank run` cancels its unfinished searches on record and says so; with a host it
says the searches go on and how to stop them; `rank stop` sees every unfinished task, also
those a killed process left behind. Before, Ctrl-C left tasks queued for ever and `rank stop`
said nothing was queued while `rank tasks` listed them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from scripts.fixtures.serp_site import SerpSite
from tests.helpers import ENTRY, HAVE_CHROMIUM, Cli
from tests.hosts import RunningHost

pytestmark = [pytest.mark.skipif(not HAVE_CHROMIUM and not os.environ.get("CI"),
                                 reason="no Chromium (apt-get install chromium)")]
WORDS = ("alpha", "beta", "gamma")


def _env(site: SerpSite, data: Path) -> dict[str, str]:
    env = {**os.environ, "VIPB_DATA_DIR": str(data), "VIPB_KEYRING": "off",
           "VIPB_ENGINE_URLS": json.dumps(site.engine_urls()),
           "VIPB_ALLOW_PRIVATE_TARGETS": "true", "VIPB_SEARCH_CONCURRENCY": "1"}
    env.pop("VIPB_MASTER_KEY", None)
    return env


def _interruptible() -> None:
    """In the child: SIGINT as at a terminal. A pytest-xdist worker ignores SIGINT and a
    child inherits that (Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(site: SerpSite, data: Path) -> subprocess.Popen[str]:
    """`vipb rank run` of three keywords, held by the engine on the first results page."""
    site.release.clear()
    args = [arg for word in WORDS for arg in ("-k", word)]
    process = subprocess.Popen([*ENTRY, "rank", "run", *args, "--proxy", "direct"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_env(site, data), preexec_fn=_interruptible)
    assert site.wait_for_searches(1, 120), "the first search reached the engine"
    return process


def _states(cli: Cli) -> list[str]:
    return sorted(t["state"] for t in cli("rank", "tasks", "--json").json())


def test_ctrl_c_in_process_cancels_the_runs_searches_on_record(
        cli: Cli, tmp_path: Path, engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    assert cli("rank", "domain", "add", "target.example").code == 0
    process = _run(engine_site, tmp_path / "data")
    try:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=120)
    finally:
        engine_site.release.set()
    assert process.returncode == 130, err
    assert "interrupted: cancelled 3 unfinished search(es) on record" in err
    assert _states(cli) == ["cancelled"] * 3
    assert cli("rank", "stop").out.strip() == "no search was queued or running"


def test_ctrl_c_with_a_host_says_the_searches_go_on_and_rank_stop_stops_them(
        cli: Cli, tmp_path: Path, engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    data = tmp_path / "data"
    assert cli("rank", "domain", "add", "target.example").code == 0
    host = RunningHost(data, **{k: v for k, v in _env(engine_site, data).items()
                                if k.startswith("VIPB_") and k != "VIPB_DATA_DIR"})
    try:
        process = _run(engine_site, data)
        try:
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 130, err
            assert ("interrupted: the 3 search(es) go on in the host; `vipb rank stop` "
                    "stops them") in err
            assert "cancelled" not in _states(cli)
            stopped = cli("rank", "stop")
        finally:
            engine_site.release.set()
        assert stopped.out.strip() == "cancelled 2 queued search(es), stopping 1 running"
    finally:
        host.stop(signal.SIGTERM)


def test_rank_stop_cancels_what_a_killed_run_left_pending(
        cli: Cli, tmp_path: Path, engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    assert cli("rank", "domain", "add", "target.example").code == 0
    process = _run(engine_site, tmp_path / "data")
    try:
        process.kill()  # no chance to say anything: its tasks stay pending on record
        process.wait(60)
    finally:
        engine_site.release.set()
    assert "cancelled" not in _states(cli)
    stopped = cli("rank", "stop", "--json").json()
    assert (len(stopped["cancelled"]), stopped["stopping"]) == (3, [])
    assert _states(cli) == ["cancelled"] * 3
