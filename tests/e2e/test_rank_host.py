"""Rank tracking in a running host (real processes, real Chromium, the local engine): a cron
schedule fires and its search completes; a search left pending by a SIGKILLed host resumes
at the next start; `vipb status` lists the next schedules."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.config import DataPaths
from adapters.control import ControlClient
from entrypoints.cli.remote import RemoteCommands
from scripts.fixtures.serp_site import SerpSite
from tests.helpers import HAVE_CHROMIUM, Cli
from tests.hosts import RunningHost

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not HAVE_CHROMIUM and not os.environ.get("CI"),
    reason="no Chromium (apt-get install chromium)")]



def _env(site: SerpSite, retry: float) -> dict[str, str]:
    return {"VIPB_ENGINE_URLS": json.dumps(site.engine_urls()),
            "VIPB_ALLOW_PRIVATE_TARGETS": "true", "VIPB_SEARCH_RETRY_INITIAL": str(retry),
            "VIPB_SEARCH_RETRY_MAX": str(retry), "VIPB_SEARCH_ATTEMPTS": "5"}


def wait_event(data: Path, predicate: Callable[[dict[str, Any]], bool],
               after: int = 0, timeout: float = 120.0) -> dict[str, Any]:
    """The first event (from ``after``) the host streams that matches ``predicate``."""
    found: list[dict[str, Any]] = []

    def match(event: dict[str, Any]) -> bool:
        if predicate(event):
            found.append(event)
        return bool(found)

    socket = DataPaths(data).socket
    with ControlClient(socket) as client:
        followed = RemoteCommands(client, socket).follow(after, match, timeout)
    assert followed, f"no matching event within {timeout}s"
    return found[0]


def _named(name: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == name and all((e["data"] or {}).get(k) == v
                                                for k, v in data.items())


def test_a_schedule_fires_in_the_host_and_records_positions(cli: Cli, tmp_path: Path,
                                                           engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    data = tmp_path / "data"
    engine_site.results["tea"] = ["https://a.example/", "https://www.target.example/tea"]
    host = RunningHost(data, **_env(engine_site, 0.01))
    try:
        # once resumed, the host says it can search and which Chromium its profiles present
        # (benchmarks start their clocks there)
        ready = re.compile(r'"host ready to search: profiles present Chromium \d+\.\d+')
        assert host.log.wait_for(lambda lines: any(ready.search(x) for x in lines), 120), \
            "".join(host.log.lines[-20:])
        assert cli("rank", "domain", "add", "target.example").code == 0
        assert cli("rank", "keyword", "add", "tea").code == 0
        added = cli("schedule", "add", "often", "--cron", "* * * * * */2", "--proxy", "direct",
                    "--json")
        assert added.code == 0, added.err
        fired = wait_event(data, _named("ScheduleTriggered"))
        [task_id] = fired["data"]["task_ids"]
        wait_event(data, lambda e: e["event"] == "SearchTaskCompleted"
                   and e["aggregate_id"] == task_id)
        assert cli("schedule", "pause", "often").code == 0
        history = cli("rank", "history", "--domain", "target.example", "--json").json()
        assert {(h["task_id"], h["position"]) for h in history} >= {(task_id, 2)}
        status = cli("status", "--json").json()
        assert status["next_schedules"] == [], "paused: nothing upcoming"
        ran = cli("rank", "run", "-k", "tea", "--proxy", "direct", "--json")
        assert ran.code == 0, ran.err
        [task] = ran.json()["tasks"]
        assert (task["state"], task["positions"][0]["position"]) == ("completed", 2)
        assert ran.json()["timed_out"] is False
        assert cli("schedule", "resume", "often").code == 0
        status = cli("status", "--json").json()
        assert [s["name"] for s in status["next_schedules"]] == ["often"]
        assert set(status["searches"]) == {"queued", "running"}
        text = cli("rank", "history", "--keyword", "tea")
        assert text.out.splitlines()[1].split()[-3:] == ["target.example", "#2", "="], text.out
        assert "tea on duckduckgo" in text.out
        urls = cli("rank", "history", "--keyword", "tea", "-c", "url").out
        assert "www.target.example/tea" in urls
    finally:
        host.stop(signal.SIGTERM)


def test_a_pending_search_resumes_after_sigkill(cli: Cli, tmp_path: Path,
                                               engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    data = tmp_path / "data"
    engine_site.results["coffee"] = ["https://target.example/coffee"]
    engine_site.fail_next, engine_site.failure = 1_000, "captcha"
    host = RunningHost(data, **_env(engine_site, 600.0))  # first retry would be in 10 min
    try:
        assert cli("rank", "domain", "add", "target.example").code == 0
        queued = cli("rank", "run", "-k", "coffee", "--proxy", "direct", "--no-wait", "--json")
        assert queued.code == 0, queued.err
        [task] = queued.json()["tasks"]
        failed = wait_event(data, lambda e: e["event"] == "SearchTaskFailed"
                            and e["aggregate_id"] == task["id"])
        assert failed["data"]["retry_in"] > 0, "waiting to retry: pending, not failed"
    finally:
        assert host.stop(signal.SIGKILL) == -signal.SIGKILL
    engine_site.fail_next = 0
    host = RunningHost(data, **_env(engine_site, 0.01))
    try:
        done = wait_event(data, lambda e: e["event"] == "SearchTaskCompleted"
                          and e["aggregate_id"] == task["id"])
        assert done["data"]["ranked"] == 1
        tasks = cli("rank", "tasks", "--json").json()
        [row] = [t for t in tasks if t["id"] == task["id"]]
        assert (row["state"], row["attempts"]) == ("completed", 2), \
            "the resumed task continued from its first attempt"
        assert "resumed 1 unfinished search tasks" in "".join(host.log.lines)
    finally:
        host.stop(signal.SIGTERM)


def test_rank_run_without_a_host_searches_in_process(cli: Cli, engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    env = _env(engine_site, 0.01)
    engine_site.results["tea"] = ["https://www.target.example/tea"]
    assert cli("rank", "domain", "add", "target.example").code == 0
    assert cli("rank", "domain", "add", "other.example").code == 0
    ran = cli("rank", "run", "-k", "tea", "--proxy", "direct", **env)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines() == [
        "'tea' on duckduckgo: 1 results scanned; page 1 showed 1 ad at the top",
        "  other.example: not ranked in 1 results",
        '  target.example: #1  https://www.target.example/tea  "https://www.target.example/tea"']
    engine_site.fail_next = 100
    failed = cli("rank", "run", "-k", "tea", "--engine", "bing", "--proxy", "direct", **env)
    assert failed.code == 1, "a search that failed did not do what was asked"
    assert "search failed after 5 attempts: bing answered with a captcha" in failed.out


def test_sigterm_records_a_running_search_as_interrupted_and_it_resumes(
        cli: Cli, tmp_path: Path, engine_site: SerpSite) -> None:
    assert cli("init").code == 0
    data = tmp_path / "data"
    engine_site.results["mill"] = [f"https://f{i}.example/" for i in range(15)] + [
        "https://target.example/mill"]  # two pages
    host = RunningHost(data, **_env(engine_site, 0.01))
    try:
        assert cli("rank", "domain", "add", "target.example").code == 0
        engine_site.release.clear()  # the first results page is held
        queued = cli("rank", "run", "-k", "mill", "--proxy", "direct", "--no-wait", "--json")
        [task] = queued.json()["tasks"]
        wait_event(data, lambda e: e["event"] == "SearchTaskStarted"
                   and e["aggregate_id"] == task["id"])
        host.process.send_signal(signal.SIGTERM)
        assert host.log.wait_for(lambda lines: any("interrupting 1 running" in x
                                                   for x in lines))
    finally:
        engine_site.release.set()
    assert host.process.wait(60) == 0, "graceful: the in-flight page finished, then it stopped"
    claims = ("SearchTaskClaimed", "SearchTaskLeaseRenewed", "SearchTaskReleased")
    events = [e for e in _log(data) if e["aggregate_id"] == task["id"]
              and e["event"] not in claims]  # claims: on a store hosts share
    assert events[-1]["event"] == "SearchTaskFailed"
    assert events[-1]["data"]["error"] == "interrupted: host stopping"
    assert events[-1]["data"]["retry_in"] == 0.0, "pending, not failed"
    host = RunningHost(data, **_env(engine_site, 0.01))
    try:
        done = wait_event(data, lambda e: e["event"] == "SearchTaskCompleted"
                          and e["aggregate_id"] == task["id"])
        assert done["data"]["ranked"] == 1 and done["data"]["results_scanned"] == 16
    finally:
        host.stop(signal.SIGTERM)


def _log(data: Path) -> list[dict[str, Any]]:
    from adapters.store import EventHistory
    from service.runtime import EventReader

    reader = EventReader(data)
    try:
        return [e.model_dump(mode="json") for e in EventHistory(reader.app).log(limit=10_000)]
    finally:
        reader.close()


def test_an_engine_defined_by_the_user_is_searched_per_device(cli: Cli, tmp_path: Path,
                                                              engine_site: SerpSite) -> None:
    """VIPB_ENGINES_DIR adds an engine (a file edit, no release); `rank engines` lists it with
    its file; a mobile keyword on it is searched and `rank history` shows device, title and
    SERP features; a broken file is refused with its path, field and reason."""
    assert cli("init").code == 0
    engines = tmp_path / "engines"
    engines.mkdir()
    (engines / "lab.toml").write_text(
        'name = "lab"\nlabel = "Lab"\n'
        f'url = "{engine_site.base}/search"\n'
        'own_hosts = ["lab.example"]\n'
        'exclude = ["li.b_ad", "li.b_ans"]\n'
        '[params]\nq = "{keyword}"\nfirst = "{first}"\n'
        '[[layouts]]\nname = "list"\nitems = "#b_results > li.b_algo"\nlink = "h2 a[href]"\n'
        '[no_results]\ncss = ["li.b_no"]\n'
        '[features]\nads_top = ["li.b_ad li"]\n')
    env = {**_env(engine_site, 0.01), "VIPB_ENGINES_DIR": str(engines)}
    listed = {e["name"]: e for e in cli("rank", "engines", "--json", **env).json()}
    assert listed["lab"]["source"] == str(engines / "lab.toml") and listed["lab"]["url"] \
        == f"{engine_site.base}/search"
    assert listed["google"]["source"].endswith("adapters/serp/engines/google.toml")
    engine_site.results["tea"] = ["https://a.example/", "https://www.target.example/tea"]
    assert cli("rank", "domain", "add", "target.example").code == 0
    assert cli("rank", "keyword", "add", "tea", "--engine", "lab", "--device", "mobile",
               **env).code == 0
    ran = cli("rank", "run", "-k", "tea", "--proxy", "direct", **env)
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[0] == \
        "'tea' on lab (mobile): 2 results scanned; page 1 showed 1 ad at the top"
    assert "Android" in engine_site.queries[-1]["user_agent"]
    [row] = cli("rank", "history", "--json").json()
    assert (row["engine"], row["device"], row["position"], row["title"], row["features"]) == \
        ("lab", "mobile", 2, "https://www.target.example/tea", {"ads_top": 1})
    shown = cli("rank", "history")
    assert "tea on lab (mobile)" in shown.out, shown.out
    assert "1 ad at the top" in cli("rank", "history", "-c", "search,features").out
    (engines / "lab.toml").write_text((engines / "lab.toml").read_text()
                                      .replace('items = "#b_results', 'items = "#b_results[['))
    broken = cli("rank", "run", "-k", "tea", "--proxy", "direct", **env)
    assert broken.code == 2 and broken.err.count("\n") == 1, broken.err
    assert broken.err.startswith(f"vipb: error: engines: engine definition: {engines}/lab.toml: "
                                 "layouts.0.items: is not a CSS selector")
