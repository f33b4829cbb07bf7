"""Rank tracking end to end in real Chromium, through a real local proxy, against a local
search engine serving DuckDuckGo/Bing/Google-style result pages: positions with titles and
SERP features, "not ranked in N results" versus "search failed", "no results" that must be
confirmed through another route, desktop and mobile, retries with backoff, pagination,
stop-search."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pykka
import pytest

from actors import tab_supervisor
from adapters.store import EventHistory
from domain.privacy import profile_id
from scripts.fixtures.serp_site import SerpSite
from scripts.fixtures.servers import free_port, pproxy, redirect_server, tcp_server
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import (
    RANK_TABLES,
    VIEW_TABLES,
    call,
    dump_views,
    open_runtime,
    refuse,
    running,
)

TABLES = VIEW_TABLES + RANK_TABLES

FILLER = [f"https://filler{i}.example/page" for i in range(40)]
ROOT = Path(__file__).resolve().parents[2]



def _runtime(data_dir, site: SerpSite, **extra) -> Runtime:
    quick = {"search_retry_initial": 0.01, "search_retry_max": 0.05, "search_attempts": 2}
    return open_runtime(data_dir, engine_urls=site.engine_urls(), **{**quick, **extra})


@pytest.fixture
def rank_runtime(data_dir, engine_site) -> Iterator[Runtime]:
    """A runtime whose engines are the local search engine (retries quick)."""
    rt = _runtime(data_dir, engine_site)
    yield rt
    rt.close()
    pykka.ActorRegistry.stop_all()


def _events(rt: Runtime, aggregate: str) -> list[tuple[str, dict]]:
    return [(e.event, e.data or {}) for e in EventHistory(rt.app).log(aggregate=aggregate,
                                                                      limit=10_000)]


def _search(rt: Runtime, **payload) -> dict:
    """Queue, wait for every task's outcome, return the results."""
    ids = [t["id"] for t in call(rt, "automation:start-search", **payload)["tasks"]]
    for event in rt.tracker.completion(ids).get():
        assert event.wait(240), "search did not finish"
    return {"tasks": call(rt, "automation:get-results", task_ids=ids)}


@pytest.mark.parametrize("engine", ["duckduckgo", "bing", "google"])
def test_positions_are_recorded_through_the_rotation_proxy(rank_runtime, engine_site,
                                                          engine) -> None:
    rt = rank_runtime
    engine_site.results["espresso grinder"] = [
        *FILLER[:3], "https://blog.exact.example/post", *FILLER[3:11],
        "https://www.target.example/grinders", "https://exact.example/", *FILLER[11:20]]
    call(rt, "automation:add-domain", domain="Target.example")
    call(rt, "automation:add-domain", domain="exact.example", include_subdomains=False)
    call(rt, "automation:add-domain", domain="missing.example")
    with pproxy("http", verbose=True) as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                        port=proxy.port, country="DE")["id"]
        result = _search(rt, keyword="espresso grinder", engine=engine, country="DE")
        port = str(urlsplit(engine_site.base).port)
        assert proxy.log.wait_for(lambda lines: any(port in x for x in lines)), \
            "the results pages were fetched through the proxy"
    [task] = result["tasks"]
    assert (task["state"], task["proxy_id"], task["results_scanned"]) == \
        ("completed", str(proxy_id), 23)
    # where it left from: the proxy's declared country (no validation has seen its exit)
    assert (task["exit_country"], task["exit_basis"]) == ("DE", "declared")
    assert {p["exit_country"] for p in task["positions"]} == {"DE"}
    features = {"duckduckgo": {"ads_top": 1}, "bing": {"ads_top": 1},
                "google": {"ads_top": 1, "images": 1}}
    assert task["features"] == features[engine], "page 1's SERP features are on record"
    assert {p["domain"]: p["title"] for p in task["positions"]} == {
        "target.example": "https://www.target.example/grinders",  # the site titles by URL
        "exact.example": "https://exact.example/", "missing.example": None}
    positions = {p["domain"]: (p["position"], p["url"]) for p in task["positions"]}
    assert positions == {
        "target.example": (13, "https://www.target.example/grinders"),  # ad not counted
        "exact.example": (14, "https://exact.example/"),  # blog.exact.example (4) is not
        "missing.example": (None, None),  # not ranked in 23 results: the search worked
    }
    assert engine_site.searches() == 3, "23 results at 10 per page: three pages"
    country = {"duckduckgo": ("kl", "de-de"), "bing": ("cc", "DE"), "google": ("gl", "DE")}
    key, value = country[engine]
    assert all(q[key] == value for q in engine_site.queries), "searched as seen from DE"
    names = [name for name, _ in _events(rt, task["id"])]
    assert names[:2] == ["SearchTaskQueued", "SearchTaskStarted"]
    assert names[-1] == "SearchTaskCompleted"
    assert sorted(names[2:-1]) == ["DomainNotRanked", "PositionRecorded", "PositionRecorded"]
    # Google in a tab; the others over HTTP as the profile's Chrome, no tab at all
    [started] = _attempts(rt, task["id"])
    way = "browser" if engine == "google" else "http"
    assert (task["fetched_by"], started["fetch"], bool(started["tab_id"])) == \
        (way, way, way == "browser")
    assert started["profile_id"], "the profile presented is on record either way"
    assert len({q["user_agent"] for q in engine_site.queries}) == 1
    assert len(task["evidence"]) == 3, "every page is kept, however it was fetched"
    history = call(rt, "automation:get-positions", domain="missing.example")
    assert [(h["ranked"], h["position"], h["results_scanned"]) for h in history] == \
        [(False, None, 23)]
    domains = {d["domain"]: d["last_position"] for d in call(rt, "automation:list-domains")}
    assert domains == {"target.example": 13, "exact.example": 14, "missing.example": None}


def test_history_shows_the_change_since_the_previous_search(rank_runtime,
                                                             engine_site) -> None:
    rt = rank_runtime
    call(rt, "automation:add-domain", domain="target.example")
    call(rt, "automation:add-domain", domain="gone.example")
    engine_site.results["k"] = [*FILLER[:5], "https://target.example/", "https://gone.example/"]
    _search(rt, keyword="k", proxy="direct")
    engine_site.results["k"] = [*FILLER[:2], "https://target.example/"]
    _search(rt, keyword="k", proxy="direct")
    latest = {h["domain"]: h for h in call(rt, "automation:get-positions", limit=2)}
    assert (latest["target.example"]["position"], latest["target.example"]["change"]) == (3, 3)
    assert latest["target.example"]["previous_position"] == 6
    assert (latest["gone.example"]["position"], latest["gone.example"]["change"],
            latest["gone.example"]["previous_position"]) == (None, None, 7)


def test_depth_limits_the_results_read(rank_runtime, engine_site) -> None:
    rt = rank_runtime
    engine_site.results["deep"] = [*FILLER, "https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    [task] = _search(rt, keyword="deep", depth=12, proxy="direct")["tasks"]
    assert task["results_scanned"] == 12
    assert task["positions"] == [{"domain": "target.example", "position": None, "url": None,
                                  "title": None, "results_scanned": 12, "exit_country": None,
                                  "revised": False, "original_position": None}]
    assert engine_site.searches() == 2
    rt.settle()
    before = dump_views(rt, TABLES)
    rt.runner.rebuild()
    assert dump_views(rt, TABLES) == before, "the rank tables rebuild from events alone"


def test_a_failed_search_is_never_recorded_as_not_ranked(rank_runtime, engine_site) -> None:
    rt = rank_runtime
    engine_site.results["blocked"] = ["https://target.example/"]
    engine_site.fail_next, engine_site.failure = 10, "captcha"
    call(rt, "automation:add-domain", domain="target.example")
    [task] = _search(rt, keyword="blocked", proxy="direct")["tasks"]
    assert task["state"] == "failed"
    assert "captcha" in task["error"] and task["reason"] == "blocked"
    assert task["positions"] == [], "no position and no 'not ranked' row for a failed search"
    failures = [data for name, data in _events(rt, task["id"]) if name == "SearchTaskFailed"]
    assert [f["retry_in"] is None for f in failures] == [False, True], \
        "first attempt retried after a backoff, the second is final"
    assert call(rt, "automation:get-positions") == []


@pytest.mark.parametrize(("failure", "reason"), [
    ("garbage", "lists no results and does not say there are none (markup changed?)"),
    ("empty", "lists no results and does not say there are none")])
def test_a_page_that_is_not_a_results_page_is_a_failure(rank_runtime, engine_site, failure,
                                                        reason) -> None:
    rt = rank_runtime
    engine_site.fail_next, engine_site.failure = 10, failure
    call(rt, "automation:add-domain", domain="target.example")
    [task] = _search(rt, keyword="anything", engine="bing", proxy="direct")["tasks"]
    assert task["state"] == "failed" and reason in task["error"]
    assert task["reason"] == "unreadable"
    assert task["positions"] == []


def _attempts(rt: Runtime, task_id: str) -> list[dict]:
    return [data for name, data in _events(rt, task_id) if name == "SearchTaskStarted"]


def _profiles(attempts: list[dict]) -> list[str]:
    """The profile each attempt presented (its tab's or, over HTTP, its own record)."""
    return [attempt["profile_id"] for attempt in attempts]


def test_no_results_twice_through_two_routes_is_not_ranked_in_zero_results(
        rank_runtime, engine_site) -> None:
    """The engine's "no results" is believed only when a second search, through another
    proxy and a fresh one-off profile, says the same."""
    rt = rank_runtime
    call(rt, "automation:add-domain", domain="target.example")
    with pproxy("http") as one, pproxy("http") as two:
        proxies = {call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                        port=p.port)["id"] for p in (one, two)}
        [task] = _search(rt, keyword="nothing matches this")["tasks"]
    assert (task["state"], task["no_results"], task["results_scanned"]) == \
        ("completed", True, 0)
    assert task["positions"] == [{"domain": "target.example", "position": None, "url": None,
                                  "title": None, "results_scanned": 0, "exit_country": None,
                                  "revised": False, "original_position": None}]
    first, second = _attempts(rt, task["id"])
    assert {first["proxy_id"], second["proxy_id"]} == {str(p) for p in proxies}, \
        "the second opinion came through the other proxy"
    default, fresh = _profiles([first, second])
    assert fresh.startswith("fresh:") and not default.startswith("fresh:")
    [doubt] = [d for n, d in _events(rt, task["id"]) if n == "SearchTaskFailed"]
    assert (doubt["reason"], doubt["retry_in"]) == ("suspicious_no_results", 0.0)
    history = call(rt, "automation:get-positions", domain="target.example")
    assert [(h["position"], h["results_scanned"], h["no_results"]) for h in history] == \
        [(None, 0, True)]
    # both over HTTP: the one-off profile's session closed after its one search (it lingered
    # with its connections and cookies until the least recently used went)
    assert (first["fetch"], second["fetch"]) == ("http", "http")
    assert _http_sessions(rt) == {"open": 1, "started": 2}


def _http_sessions(rt: Runtime) -> dict[str, int]:
    """The HTTP tier's sessions, open and started, once the tab supervisor has handled
    everything the searches told it (its messages are handled in order)."""
    rt.tabs().open_tabs().get(timeout=60)
    return rt.planner().fetcher.stats()


def test_a_bot_no_results_answer_is_never_not_ranked(rank_runtime, engine_site) -> None:
    """Bing answers distrusted clients "There are no results": the second search through the
    other proxy lists the real results, and those are what is recorded."""
    rt = rank_runtime
    engine_site.results["espresso grinder"] = [*FILLER[:3], "https://target.example/"]
    engine_site.fail_next, engine_site.failure = 1, "bot_no_results"
    call(rt, "automation:add-domain", domain="target.example")
    with pproxy("http") as one, pproxy("http") as two:
        for p in (one, two):
            call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=p.port)
        [task] = _search(rt, keyword="espresso grinder", engine="bing")["tasks"]
    assert (task["state"], task["no_results"]) == ("completed", False)
    assert [(p["position"], p["results_scanned"]) for p in task["positions"]] == [(4, 4)]
    first, second = _attempts(rt, task["id"])
    assert first["proxy_id"] != second["proxy_id"]
    reasons = [d["reason"] for n, d in _events(rt, task["id"]) if n == "SearchTaskFailed"]
    assert reasons == ["suspicious_no_results"]


def test_no_results_that_cannot_be_confirmed_is_a_failed_search(rank_runtime,
                                                                engine_site) -> None:
    """One proxy in the pool: no second opinion through another proxy can be had, so the
    search fails with reason suspicious_no_results and nothing is recorded as not ranked."""
    rt = rank_runtime
    engine_site.results["espresso grinder"] = ["https://target.example/"]
    engine_site.fail_next, engine_site.failure = 10, "bot_no_results"
    call(rt, "automation:add-domain", domain="target.example")
    with pproxy("http") as only:
        call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=only.port)
        [task] = _search(rt, keyword="espresso grinder", engine="bing")["tasks"]
    assert (task["state"], task["reason"], task["positions"]) == \
        ("failed", "suspicious_no_results", [])
    assert "other than the one already used" in task["error"]
    names = [name for name, _ in _events(rt, task["id"])]
    assert "DomainNotRanked" not in names and "SearchTaskCompleted" not in names


def test_a_retry_recovers_from_an_engine_error(rank_runtime, engine_site) -> None:
    rt = rank_runtime
    engine_site.results["flaky"] = ["https://target.example/a"]
    engine_site.fail_next, engine_site.failure = 1, "http429"
    call(rt, "automation:add-domain", domain="target.example")
    [task] = _search(rt, keyword="flaky", proxy="direct")["tasks"]
    assert (task["state"], task["attempts"]) == ("completed", 2)
    assert task["positions"][0]["position"] == 1
    failures = [data for name, data in _events(rt, task["id"]) if name == "SearchTaskFailed"]
    assert len(failures) == 1 and "HTTP 429" in failures[0]["error"]
    assert 0 <= failures[0]["retry_in"] <= 0.05, "the backoff is capped by the settings"


def test_tracked_keywords_are_all_searched_and_stop_cancels_queued_ones(
        data_dir, engine_site) -> None:
    rt = _runtime(data_dir, engine_site, search_concurrency=1)
    try:
        call(rt, "automation:add-domain", domain="target.example")
        for word in ("one", "two", "three", "four"):
            engine_site.results[word] = ["https://target.example/" + word]
            call(rt, "automation:add-keyword", keyword=word)
        engine_site.release.clear()  # the first search holds on its results page
        queued = call(rt, "automation:start-search", proxy="direct")
        assert sorted(t["keyword"] for t in queued["tasks"]) == ["four", "one", "three", "two"]
        ids = [t["id"] for t in queued["tasks"]]
        stopped = call(rt, "automation:stop-search")
        assert (len(stopped["cancelled"]), len(stopped["stopping"])) == (3, 1)
        engine_site.release.set()
        for event in rt.tracker.completion(ids).get():
            assert event.wait(120)
        states = {t["id"]: t["state"] for t in call(rt, "automation:get-tasks")}
        assert sorted(states[i] for i in stopped["cancelled"]) == ["cancelled"] * 3
        [running] = stopped["stopping"]
        assert states[running] in ("cancelled", "completed"), \
            "a running search ends at its next step: here its only page was already loading"
        assert refuse(rt, "automation:stop-search", task_id="0" * 32) == \
            f"task_id: no queued or running search task {'0' * 32}"
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_a_schedule_searches_its_tracked_keywords(data_dir, engine_site) -> None:
    from datetime import UTC, datetime

    from adapters.config import Settings

    now = [datetime(2026, 11, 25, 9, 30, tzinfo=UTC).timestamp()]
    settings = Settings(data_dir=data_dir, allow_private_targets=True,
                        engine_urls=engine_site.engine_urls(), search_retry_initial=0.01)
    rt = bootstrap(data_dir, settings=settings, clock=lambda: now[0])
    try:
        engine_site.results["tea"] = ["https://a.example/", "https://target.example/tea"]
        engine_site.results["coffee"] = ["https://target.example/coffee"]
        call(rt, "automation:add-domain", domain="target.example")
        call(rt, "automation:add-keyword", keyword="tea")
        call(rt, "automation:add-keyword", keyword="coffee", engine="bing")
        call(rt, "automation:schedule", name="tea-only", cron="0 10 * * *", keywords=["TEA"],
             proxy="direct")
        engine_site.release.clear()  # the engine holds its answers for now
        now[0] += 3600
        assert rt.scheduler.tick().get() == ["tea-only"]
        rt.settle()
        [log] = call(rt, "automation:get-tasks")
        assert (log["keyword"], log["origin"]) == ("tea", "schedule:tea-only")
        now[0] += 86400
        assert rt.scheduler.tick().get() == ["tea-only"], "due again while the first runs"
        held = call(rt, "automation:run-schedule", name="tea-only")
        assert held["tasks"] == [], "run-now does not pile up either"
        engine_site.release.set()
        for event in rt.tracker.completion([log["id"]]).get():
            assert event.wait(120)
        assert len(call(rt, "automation:get-tasks")) == 1, "the second run did not pile up"
        skipped = "skipped: the previous run still has 1 search(es) queued or running"
        assert held["note"] == skipped
        with rt.reader() as conn:
            notes = [tuple(r) for r in conn.execute(
                "SELECT note, on_request FROM execution_logs ORDER BY notification_id")]
        assert notes == [(None, 0), (skipped, 0), (skipped, 1)]
        [position] = call(rt, "automation:get-positions", keyword="tea")
        assert (position["domain"], position["position"]) == ("target.example", 2)
        with rt.reader() as conn:
            tasks = conn.execute("SELECT task_ids FROM execution_logs").fetchone()[0]
        assert log["id"] in tasks
        # once nothing is pending, run-now searches the schedule's keywords again
        [again] = call(rt, "automation:run-schedule", name="tea-only")["tasks"]
        assert again["keyword"] == "tea"
        for event in rt.tracker.completion([again["id"]]).get():
            assert event.wait(120)
        assert len(call(rt, "automation:get-positions", keyword="tea")) == 2
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_a_tracked_keyword_is_searched_as_it_is_tracked(rank_runtime, engine_site) -> None:
    """`rank run -k KEYWORD` used to search DuckDuckGo from nowhere even when the keyword
    was tracked on Bing from Germany; now it searches it as tracked, each way it is tracked,
    unless the command names another engine or country (then once, untracked)."""
    rt = rank_runtime
    engine_site.results["espresso grinder"] = ["https://www.target.example/", *FILLER[:5]]
    call(rt, "automation:add-domain", domain="target.example")
    call(rt, "automation:add-keyword", keyword="espresso grinder", engine="bing",
         country="DE", depth=20)
    call(rt, "automation:add-keyword", keyword="espresso grinder", engine="google")
    queued = call(rt, "automation:start-search", keyword="Espresso  Grinder",
                  proxy="direct", any_exit_country=True)["tasks"]
    got = sorted((t["engine"], t["country"], t["depth"]) for t in queued)
    assert got == [("bing", "DE", 20), ("google", None, 30)]
    for event in rt.tracker.completion([t["id"] for t in queued]).get():
        assert event.wait(240), "search did not finish"
    results = call(rt, "automation:get-results", task_ids=[t["id"] for t in queued])
    assert [t["positions"][0]["position"] for t in results] == [1, 1]
    once = _search(rt, keyword="espresso grinder", engine="duckduckgo", proxy="direct")
    assert [(t["engine"], t["country"]) for t in once["tasks"]] == [("duckduckgo", None)]


def test_stop_ends_a_search_stuck_behind_a_silent_proxy(rank_runtime, engine_site) -> None:
    """The page load behind a proxy that accepts and never answers is aborted when the
    search is stopped: the task ends cancelled long before the load would time out (30 s),
    with no retry on record."""
    rt = rank_runtime
    call(rt, "automation:add-domain", domain="target.example")
    connected = threading.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # never answers; returns when the client gives up
        writer.close()

    with tcp_server(silent) as port:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=port)["id"]
        [task] = call(rt, "automation:start-search", keyword="espresso grinder",
                      proxy=proxy_id)["tasks"]
        assert connected.wait(60), "the results page went to the silent proxy"
        [done] = rt.tracker.completion([task["id"]]).get()
        call(rt, "automation:stop-search", task_id=task["id"])
        assert done.wait(15), "the stop ended the load (a 30 s timeout would not have)"
    [result] = call(rt, "automation:get-results", task_ids=[task["id"]])
    assert result["state"] == "cancelled", result
    names = [name for name, _ in _events(rt, task["id"])]
    assert "SearchTaskFailed" not in names, names


def test_a_mobile_keyword_is_searched_from_a_phone_and_recorded_per_device(
        rank_runtime, engine_site) -> None:
    rt = rank_runtime
    engine_site.results["espresso grinder"] = [*FILLER[:2], "https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    for device in ("desktop", "mobile"):
        call(rt, "automation:add-keyword", keyword="espresso grinder", engine="google",
             device=device)
    keywords = sorted((k["keyword"], k["device"]) for k in call(rt, "automation:list-keywords"))
    assert keywords == [("espresso grinder", "desktop"), ("espresso grinder", "mobile")]
    [task] = _search(rt, keyword="espresso grinder", device="mobile", proxy="direct")["tasks"]
    assert (task["device"], task["state"], task["positions"][0]["position"]) == \
        ("mobile", "completed", 3)
    [query] = engine_site.queries
    assert "Android" in query["user_agent"] and "Mobile" in query["user_agent"]
    [tab] = [d["tab_id"] for n, d in _events(rt, task["id"]) if n == "SearchTaskStarted"]
    [opened] = [d for n, d in _events(rt, tab) if n == "TabOpened"]
    assert opened["profile_id"] == str(profile_id("default-mobile"))
    desktop = _search(rt, keyword="espresso grinder", device="desktop", proxy="direct")
    assert "Android" not in engine_site.queries[-1]["user_agent"]
    history = call(rt, "automation:get-positions", domain="target.example")
    assert sorted((h["device"], h["position"], h["change"]) for h in history) == \
        [("desktop", 3, None), ("mobile", 3, None)], "each device has its own history"
    assert desktop["tasks"][0]["device"] == "desktop"
    error = refuse(rt, "automation:start-search", keyword="espresso grinder", device="mobile",
                   profile="default-desktop-only")
    assert "profile" in error
    call(rt, "privacy:set-fingerprint", profile="office", os=["windows"])
    error = refuse(rt, "automation:start-search", keyword="espresso grinder", device="mobile",
                   profile="office")
    assert error.startswith("profile: profile 'office' is a desktop profile; mobile searches "
                            "need a mobile profile"), error


def test_an_unknown_engine_is_refused_at_the_boundary(rank_runtime, engine_site) -> None:
    rt = rank_runtime
    call(rt, "automation:add-domain", domain="target.example")
    for channel in ("automation:add-keyword", "automation:start-search"):
        error = refuse(rt, channel, keyword="x", engine="altavista")
        assert error.startswith("engine: unknown engine 'altavista' (engines: bing, brave, "), error
    names = {e["name"] for e in call(rt, "automation:list-engines")}
    assert names == {"google", "bing", "duckduckgo", "brave", "yahoo", "yandex"}


def test_a_prepared_tab_that_never_opens_is_discarded_and_frees_its_proxy(rank_runtime) -> None:
    """A search prepares its tab on the supervisor and opens it on the tab's own actor; when
    that open fails, discarding the tab stops its actor, puts nothing on record and hands
    its proxy back to the rotation engine."""
    rt = rank_runtime
    with pproxy("http") as proxy:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=proxy.port,
                        max_concurrency=1)["id"]
        tab_id, actor, reason = rt.tabs().prepare(None, "default", "auto", None).get()
        assert actor.info().get()["url"] is None and reason
        error = refuse(rt, "tab:create", proxy="auto")
        assert "no proxy is available" in error, "the prepared tab holds the only slot"
        rt.tabs().discard(tab_id, "failed to open").get()
        assert not actor.actor_ref.is_alive()
        assert _events(rt, tab_id) == [], "a tab that never opened has nothing on record"
        opened = call(rt, "tab:create", proxy="auto")
        assert opened["proxy_id"] == str(proxy_id), "the slot was handed back"
        call(rt, "tab:close", tab_id=opened["id"])


def test_a_page_that_cannot_be_kept_does_not_cost_the_answer(rank_runtime,
                                                             engine_site) -> None:
    """The evidence store gone (closed here; a full disk in life): the position is still
    recorded, without a page, and says so (notice evidence_lost)."""
    rt = rank_runtime
    engine_site.results["kept"] = ["https://www.target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    [kept] = _search(rt, keyword="kept", proxy="direct")["tasks"]
    assert (kept["state"], len(kept["evidence"]), kept["notices"]) == ("completed", 1, [])
    rt.evidence.close()
    [lost] = _search(rt, keyword="kept", proxy="direct")["tasks"]
    assert (lost["state"], lost["evidence"], lost["notices"]) == \
        ("completed", [], ["evidence_lost"])
    assert lost["positions"][0]["position"] == 1


def test_a_resumed_search_gets_only_the_attempts_it_has_left(data_dir, engine_site) -> None:
    """Attempts that failed before a stop count against the limit after it (issue 30, point
    6: a task taken over went through attempts 4-6 with a limit of 3); the stop itself does
    not count."""
    engine_site.fail_next, engine_site.failure = 100, "http429"
    first = _runtime(data_dir, engine_site, search_attempts=5, search_retry_initial=600,
                     search_retry_max=600)
    try:
        call(first, "automation:add-domain", domain="target.example")
        after = first.app.event_log.head()
        [task] = call(first, "automation:start-search", keyword="stubborn",
                      proxy="direct")["tasks"]
        assert first.follow(after, lambda e: e["event"] == "SearchTaskFailed", 120), \
            "the first attempt failed and the task waits 600 s to retry"
    finally:
        first.close()  # the wait is interrupted: on record, not counted as a failure
        pykka.ActorRegistry.stop_all()
    second = _runtime(data_dir, engine_site, search_attempts=2)
    try:
        assert second.run_automation() == 1
        [done] = second.tracker.completion([task["id"]]).get()
        assert done.wait(240)
        [result] = call(second, "automation:get-results", task_ids=[task["id"]])
        events = _events(second, task["id"])
    finally:
        second.close()
        pykka.ActorRegistry.stop_all()
    assert result["state"] == "failed"
    started = [data["attempt"] for name, data in events if name == "SearchTaskStarted"]
    assert started == [1, 2], "one attempt was left of two, and it counted on from 1"
    reasons = [data["reason"] for name, data in events if name == "SearchTaskFailed"]
    assert reasons == ["http_error", "interrupted", "http_error"]


def test_a_results_page_the_egress_guard_refuses_is_not_retried(data_dir) -> None:
    """Issue 31, point 11: an egress refusal (here a redirect to another private port) was
    retried as ``load_failed``; it is ``refused`` at once, as creator checks have it."""
    internal = free_port()  # a service of the machine's own
    with redirect_server(f"http://127.0.0.1:{internal}/admin") as base, \
            running(data_dir, allow_private_targets=False,
                    egress_allow=[f"127.0.0.1:{urlsplit(base).port}"], search_attempts=3,
                    search_retry_initial=0.01, search_retry_max=0.05,
                    engine_urls={"duckduckgo": f"{base}/html/"}) as rt:
        call(rt, "automation:add-domain", domain="target.example")
        [task] = _search(rt, keyword="anything", proxy="direct")["tasks"]
    assert (task["state"], task["attempts"], task["reason"]) == ("failed", 1, "refused"), \
        task.get("error")
    assert "egress guard refused" in task["error"]


def test_http_and_tab_searches_present_the_same_profile(rank_runtime, engine_site) -> None:
    """A profile fetched over HTTP is the Chrome its tabs are: the same user agent reaches
    the engine either way."""
    rt = rank_runtime
    engine_site.results["espresso grinder"] = [*FILLER[:2], "https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    for engine in ("bing", "google"):
        [task] = _search(rt, keyword="espresso grinder", engine=engine, proxy="direct")["tasks"]
        assert (task["state"], task["positions"][0]["position"]) == ("completed", 3), task
    http, tab = engine_site.queries
    assert http["user_agent"] == tab["user_agent"]
    assert "HeadlessChrome" not in http["user_agent"]


def test_auto_reads_a_challenged_http_page_in_a_tab_and_remembers_the_proxy(
        rank_runtime, engine_site) -> None:
    """Bing over HTTP meets a captcha: the same attempt goes on in a tab behind the same
    proxy (on record, with the captcha kept), and later Bing searches behind that proxy go
    to a tab at once; behind another proxy they go over HTTP again."""
    rt = rank_runtime
    engine_site.results["espresso grinder"] = [*FILLER[:4], "https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    with pproxy("http") as one, pproxy("http") as two:
        first = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=one.port)["id"]
        second = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=two.port)["id"]
        engine_site.fail_next, engine_site.failure = 1, "captcha"
        [task] = _search(rt, keyword="espresso grinder", engine="bing", proxy=first)["tasks"]
        assert (task["state"], task["attempts"], task["fetched_by"]) == ("completed", 1, "browser")
        assert task["positions"][0]["position"] == 5
        events = _events(rt, task["id"])
        names = [n for n, _ in events]
        assert names[:4] == ["SearchTaskQueued", "SearchTaskStarted", "SearchTaskFellBack",
                             "SearchTaskStarted"]
        http, fell, tab = (d for _, d in events[1:4])
        assert (http["fetch"], http["tab_id"], tab["fetch"]) == ("http", "", "browser")
        assert http["proxy_id"] == tab["proxy_id"] == first, "the tab is behind the same proxy"
        assert (fell["attempt"], fell["reason"]) == (1, "blocked")
        [captcha] = fell["evidence"]
        assert captcha not in task["evidence"], "the answer's evidence is the tab's pages"
        kept = rt.evidence.get(captcha)
        assert kept is not None and "captcha" in (kept.html or "").lower()
        assert "SearchTaskFailed" not in names, "falling back is not a failed attempt"
        # remembered: Bing behind this proxy goes to a tab at once
        [again] = _search(rt, keyword="espresso grinder", engine="bing", proxy=first)["tasks"]
        assert [d["fetch"] for n, d in _events(rt, again["id"])
                if n == "SearchTaskStarted"] == ["browser"]
        [other] = _search(rt, keyword="espresso grinder", engine="bing", proxy=second)["tasks"]
        assert (other["state"], other["fetched_by"]) == ("completed", "http")


def test_an_unreadable_http_page_of_an_auto_engine_is_read_in_a_tab(rank_runtime,
                                                                    engine_site) -> None:
    rt = rank_runtime
    engine_site.results["espresso grinder"] = ["https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    engine_site.fail_next, engine_site.failure = 1, "garbage"
    [task] = _search(rt, keyword="espresso grinder", engine="duckduckgo",
                     proxy="direct")["tasks"]
    assert (task["state"], task["fetched_by"], task["positions"][0]["position"]) == \
        ("completed", "browser", 1)
    [fell] = [d for n, d in _events(rt, task["id"]) if n == "SearchTaskFellBack"]
    assert fell["reason"] == "unreadable"


def test_search_fetch_browser_puts_every_search_in_a_tab(data_dir, engine_site) -> None:
    rt = _runtime(data_dir, engine_site, search_fetch="browser")
    try:
        engine_site.results["espresso grinder"] = ["https://target.example/"]
        call(rt, "automation:add-domain", domain="target.example")
        [task] = _search(rt, keyword="espresso grinder", engine="bing", proxy="direct")["tasks"]
        assert (task["state"], task["fetched_by"]) == ("completed", "browser")
        [started] = _attempts(rt, task["id"])
        assert [n for n, _ in _events(rt, started["tab_id"])][:1] == ["TabOpened"]
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _tab_events(rt: Runtime, tab_id: str) -> list[str]:
    return [name for name, _ in _events(rt, tab_id)]


def test_searches_of_a_profile_behind_a_proxy_share_a_warm_tab(rank_runtime, engine_site,
                                                               monkeypatch) -> None:
    """A search that worked parks its tab; the next one of the same profile behind the same
    proxy reads its pages there (no new context), up to SEARCHES_PER_TAB; a failed one
    closes its tab; an idle parked tab is closed on record."""
    monkeypatch.setattr(tab_supervisor, "SEARCHES_PER_TAB", 3)
    rt = rank_runtime
    call(rt, "automation:add-domain", domain="target.example")
    words = [f"grinder {i}" for i in range(4)]
    for word in words:
        engine_site.results[word] = ["https://target.example/"]
    tabs = []
    for word in words:
        [task] = _search(rt, keyword=word, engine="google", proxy="direct")["tasks"]
        assert (task["state"], task["positions"][0]["position"]) == ("completed", 1)
        [started] = _attempts(rt, task["id"])
        tabs.append(started["tab_id"])
    first, second = tabs[0], tabs[3]
    assert tabs == [first, first, first, second] and second != first, \
        "three searches in one tab, then a new one"
    assert _tab_events(rt, first).count("TabOpened") == 1
    assert _tab_events(rt, first).count("TabNavigated") == 3
    assert _tab_events(rt, first)[-1] == "TabClosed", "it served its searches"
    # a failed attempt closes its tab (the retry opens another)
    engine_site.fail_next, engine_site.failure = 1, "captcha"
    [task] = _search(rt, keyword=words[0], engine="google", proxy="direct")["tasks"]
    failed_tab, retry_tab = (d["tab_id"] for d in _attempts(rt, task["id"]))
    assert failed_tab == second and retry_tab != second
    assert _tab_events(rt, second)[-1] == "TabClosed"
    # parked too long: closed on record
    assert _tab_events(rt, retry_tab)[-1] != "TabClosed"
    monkeypatch.setattr(tab_supervisor, "WARM_IDLE", 0.0)
    rt.tabs().actor_ref.ask(tab_supervisor.SweepParked())
    assert _tab_events(rt, retry_tab)[-1] == "TabClosed"
    [closed] = [d for n, d in _events(rt, retry_tab) if n == "TabClosed"]
    assert closed["reason"] == "idle search tab closed"


def test_a_host_getting_ready_loads_the_tracked_keywords(data_dir, engine_site,
                                                          monkeypatch) -> None:
    """A restarted host rebuilt its tracked keywords from their history at its first run
    (~0.2 s for 600): getting ready to search does it, once."""
    rt = _runtime(data_dir, engine_site)
    try:
        for word in ("espresso grinder", "burr grinder"):
            call(rt, "automation:add-keyword", keyword=word, engine="bing")
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    rt = _runtime(data_dir, engine_site)
    try:
        loads: list[str] = []
        load = rt.writer.load

        def counted(cls, *args, **kwargs):  # the real load, counted
            loads.append(cls.__name__)
            return load(cls, *args, **kwargs)

        monkeypatch.setattr(rt.writer, "load", counted)
        rt.prepare_searches()
        assert loads.count("RankTargets") == 1, "getting ready loaded the targets"
        assert rt.tracker.load_targets().get() == 2
        assert loads.count("RankTargets") == 1, "and the tracker kept them"
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_a_host_getting_ready_loads_the_http_client_before_the_first_search(
        tmp_path: Path) -> None:
    """The first searches of a host that just started used to wait for curl_cffi's import
    (~0.1-0.2 s, every search under way): getting ready to search loads it. (In a new
    process: this one may have loaded it already.)"""
    probe = "\n".join([
        "import sys",
        "from pathlib import Path",
        "from service.bootstrap import bootstrap",
        "from service.runtime import initialize",
        f"data = Path({str(tmp_path / 'data')!r})",
        "initialize(data)",
        "rt = bootstrap(data)",
        "try:",
        "    before = 'curl_cffi.requests' in sys.modules",
        "    rt.prepare_searches()",
        "    print(before, 'curl_cffi.requests' in sys.modules)",
        "finally:",
        "    rt.close()",
    ])
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "VIPB_KEYRING": "off"}, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]
