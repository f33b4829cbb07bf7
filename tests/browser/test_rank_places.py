"""Location is a promise: a search for a country goes through a proxy of that country (its
declared country, confirmed by the exit a validation saw), never silently through another;
the engines get the place and language; every position says where it was searched from.

Real Chromium, real pproxy servers on 127.0.0.1, a real check endpoint that names the exit
country (as ipinfo.io does), and the local search engine."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from adapters.store import EventHistory
from scripts.fixtures.servers import geo_echo_server, pproxy
from service.runtime import Runtime
from tests.helpers import call, open_runtime, refuse


@pytest.fixture
def rt(data_dir, engine_site) -> Iterator[Runtime]:
    """A runtime searching the local engine, quick retries (three attempts)."""
    runtime = open_runtime(data_dir, engine_urls=engine_site.engine_urls(),
                           search_retry_initial=0.01, search_retry_max=0.05,
                           search_attempts=3)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def _search(rt: Runtime, **payload) -> list[dict]:
    ids = [t["id"] for t in call(rt, "automation:start-search", **payload)["tasks"]]
    for event in rt.tracker.completion(ids).get():
        assert event.wait(240), "search did not finish"
    results: list[dict] = call(rt, "automation:get-results", task_ids=ids)
    return results


def _events(rt: Runtime, task_id: str) -> list[tuple[str, dict]]:
    return [(e.event, e.data or {}) for e in EventHistory(rt.app).log(aggregate=task_id,
                                                                      limit=1000)]


def test_a_search_for_a_country_without_a_proxy_there_fails_and_names_it(
        rt, engine_site) -> None:
    """Only a DE proxy: a keyword tracked for the US is not searched through it ("preferred
    country DE" before): it fails at once with no_proxy_in_country, naming US, without a
    retry and without a request to the engine. Allowed any exit, it goes through DE and
    every position says so."""
    engine_site.results["standing desk"] = ["https://a.example/", "https://www.target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    call(rt, "proxy:set-rotation", strategy="geographic", params={"countries": ["DE"]})
    with pproxy("http") as de:
        de_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=de.port,
                     country="DE")["id"]
        call(rt, "automation:add-keyword", keyword="standing desk", engine="google",
             country="US")
        [task] = _search(rt, keyword="standing desk")
        assert (task["state"], task["reason"], task["attempts"]) == \
            ("failed", "no_proxy_in_country", 1)
        assert "no proxy in US" in task["error"] and "--any-exit-country" in task["error"]
        assert task["positions"] == [] and engine_site.searches() == 0
        failed = [d for name, d in _events(rt, task["id"]) if name == "SearchTaskFailed"]
        assert [d["retry_in"] for d in failed] == [None], "not retried elsewhere"

        [anywhere] = _search(rt, keyword="standing desk", any_exit_country=True)
    assert anywhere["state"] == "completed", anywhere
    assert (anywhere["country"], anywhere["exit_country"], anywhere["proxy_id"]) == \
        ("US", "DE", de_id)
    [position] = anywhere["positions"]
    assert (position["position"], position["exit_country"]) == (2, "DE")
    [row] = call(rt, "automation:get-positions", domain="target.example", country="US")
    assert (row["country"], row["exit_country"], row["proxy_id"]) == ("US", "DE", de_id)
    # the engine was asked for US results in English, whatever the exit
    assert (engine_site.queries[-1]["gl"], engine_site.queries[-1]["hl"]) == ("US", "en")


def test_a_proxy_whose_exit_a_validation_saw_elsewhere_does_not_serve_its_declared_country(
        rt, engine_site) -> None:
    """Two proxies declared DE and FR; the check endpoint says both leave from FR. A DE
    search fails (naming where they were seen), a FR search goes through the FR proxy and
    records its exit as validated."""
    engine_site.results["velo"] = ["https://www.target.example/velo"]
    call(rt, "automation:add-domain", domain="target.example")
    with pproxy("http") as one, pproxy("http") as two, geo_echo_server("FR") as check:
        de_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=one.port,
                     country="DE")["id"]
        fr_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=two.port,
                     country="FR")["id"]
        validated = call(rt, "proxy:validate", all=True, check_url=check, samples=1)
        assert {v["id"]: v["exit_country"] for v in validated} == {de_id: "FR", fr_id: "FR"}
        [de] = _search(rt, keyword="velo", engine="bing", country="DE", proxy="auto")
        assert (de["state"], de["reason"]) == ("failed", "no_proxy_in_country")
        assert "validations saw them leave from FR" in de["error"], de["error"]
        [fr] = _search(rt, keyword="velo", engine="bing", country="FR")
        assert fr["state"] == "completed", fr
        assert (fr["proxy_id"], fr["exit_country"], fr["exit_basis"]) == \
            (fr_id, "FR", "validated")
        assert engine_site.queries[-1]["mkt"] == "fr-FR"
        # a proxy chosen by id must be in the country too
        [chosen] = _search(rt, keyword="velo", engine="bing", country="DE", proxy=de_id)
        assert (chosen["state"], chosen["reason"]) == ("failed", "no_proxy_in_country")
        assert "seen leaving from FR" in chosen["error"]
    proxies = {p["id"]: p["exit_country"] for p in call(rt, "proxy:list")}
    assert proxies == {de_id: "FR", fr_id: "FR"}, "the proxies view keeps what was seen"


def test_a_direct_search_leaves_from_the_country_the_host_says_it_is_in(
        data_dir, engine_site) -> None:
    """--proxy direct for a country: refused when the host's own country is not set or is
    another one, searched (exit 'direct') when VIPB_DIRECT_COUNTRY says it is that one."""
    engine_site.results["fika"] = ["https://www.target.example/"]
    for direct, outcome in ((None, "failed"), ("NO", "failed"), ("SE", "completed")):
        extra = {"direct_country": direct} if direct else {}
        rt = open_runtime(data_dir, engine_urls=engine_site.engine_urls(),
                          search_retry_initial=0.01, search_retry_max=0.05, **extra)
        try:
            call(rt, "automation:add-domain", domain="target.example")
            [task] = _search(rt, keyword="fika", country="SE", proxy="direct")
            assert task["state"] == outcome, task
            if outcome == "failed":
                assert task["reason"] == "no_proxy_in_country" and "direct" in task["error"]
            else:
                assert (task["exit_country"], task["exit_basis"]) == ("SE", "direct")
                assert task["positions"][0]["exit_country"] == "SE"
        finally:
            rt.close()
            pykka.ActorRegistry.stop_all()


def test_a_place_reaches_the_engine_and_is_part_of_the_keyword(rt, engine_site) -> None:
    """A city for Google goes as uule (with gl and hl); an engine that takes no place is
    refused with the field and reason; the same words near another city are another keyword
    and another row of history; several keywords in one run are each searched."""
    engine_site.results["pizza"] = ["https://www.target.example/pizza"]
    engine_site.results["pasta"] = ["https://a.example/", "https://www.target.example/pasta"]
    call(rt, "automation:add-domain", domain="target.example")
    error = refuse(rt, "automation:add-keyword", keyword="pizza", engine="bing", country="DE",
                   location="Berlin,Berlin,Germany")
    assert error.startswith("location: bing takes no location"), error
    error = refuse(rt, "automation:add-keyword", keyword="pizza", engine="google",
                   location="Berlin,Berlin,Germany")
    assert error.startswith("location: needs --country"), error
    for city in ("Berlin,Berlin,Germany", "Munich,Bavaria,Germany"):
        call(rt, "automation:add-keyword", keyword="pizza", engine="google", country="DE",
             location=city, language="en")
    with pproxy("http") as de:
        call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=de.port, country="DE")
        tasks = _search(rt, keywords=["pizza", "pasta"], engine="google", country="DE")
    assert sorted((t["keyword"], t["location"] or "", t["state"]) for t in tasks) == [
        ("pasta", "", "completed"), ("pizza", "Berlin,Berlin,Germany", "completed"),
        ("pizza", "Munich,Bavaria,Germany", "completed")]
    asked = [q for q in engine_site.queries if q["q"] == "pizza"]
    assert sorted(q["uule"] for q in asked) == sorted(
        ["w+CAIQICIVQmVybGluLEJlcmxpbixHZXJtYW55", "w+CAIQICIWTXVuaWNoLEJhdmFyaWEsR2VybWFueQ=="])
    assert {(q["gl"], q["hl"]) for q in asked} == {("DE", "en")}
    rows = call(rt, "automation:get-positions", keyword="pizza",
                location="Munich,Bavaria,Germany")
    assert [(r["location"], r["language"], r["position"]) for r in rows] == \
        [("Munich,Bavaria,Germany", "en", 1)]
    report = call(rt, "automation:get-report", keyword="pizza")
    assert sorted(r["location"] for r in report) == ["Berlin,Berlin,Germany",
                                                     "Munich,Bavaria,Germany"]
