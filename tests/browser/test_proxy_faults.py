"""Proxies that stall or reset connections count against their breakers (issue 30, point 3):
four proxies in round robin, one silent, one resetting every connection, one flapping and
one working; real Chromium searches the local engine through them. Before, only Chromium's
``ERR_PROXY_*`` codes counted: no breaker ever opened and a quarter of the picks kept going to
each dead proxy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from adapters.store import EventHistory
from scripts.fixtures.serp_site import SerpSite
from scripts.fixtures.servers import Handler, hanging, pproxy, resetting, tcp_server
from service.runtime import Runtime
from tests.helpers import call, open_runtime


def _runtime(data_dir: Path, site: SerpSite, fetch: str) -> Runtime:
    return open_runtime(data_dir, engine_urls=site.engine_urls(), page_timeout=2,
                        search_attempts=4, search_retry_initial=0.01, search_retry_max=0.05,
                        search_concurrency=3, search_fetch=fetch)


@pytest.fixture
def rt(data_dir: Path, engine_site: SerpSite) -> Iterator[Runtime]:
    """Searches in tabs (the HTTP tier's own faults: see the last test)."""
    runtime = _runtime(data_dir, engine_site, "browser")
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def _search_all(rt: Runtime, keywords: list[str], proxy: str = "auto") -> list[dict]:
    ids = [t["id"] for k in keywords
           for t in call(rt, "automation:start-search", keyword=k, proxy=proxy)["tasks"]]
    for done in rt.tracker.completion(ids).get():
        assert done.wait(300), "search did not finish"
    return list(call(rt, "automation:get-results", task_ids=ids))


def _until_broken(rt: Runtime, ids: dict[str, str], words: list[str]) -> list[dict]:
    """Rounds of searches for ``words`` (each round's keywords new) until the breakers of
    the silent and the resetting proxy are both open; every search of every round must
    complete. A search's retries pass over the proxies that failed it, so a dead proxy meets
    about its share of first attempts a round: its 5th failure in a row may come in the 2nd."""
    found: list[dict] = []
    for turn in range(6):
        results = _search_all(rt, [f"{word} {turn}" for word in words])
        assert {r["state"] for r in results} == {"completed"}, \
            [(r["state"], r.get("error")) for r in results]
        found += results
        if {rt.rotation.breaker_state(ids[name]).get() for name in ("silent", "reset")} \
                == {"open"}:
            return found
    raise AssertionError(f"breakers after 6 rounds: {ids}")


def _flapping(upstream: int) -> Handler:
    """A proxy that works on every other connection (piped to a real proxy) and resets the
    rest, as one whose link flaps does."""
    turns = itertools.count()
    reset = resetting()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if next(turns) % 2:
            await reset(reader, writer)
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
    return handle


def test_silent_and_resetting_proxies_open_their_breakers_and_searches_move_on(
        rt: Runtime, engine_site: SerpSite) -> None:
    engine_site.results["espresso grinder"] = ["https://target.example/"]
    call(rt, "automation:add-domain", domain="target.example")
    call(rt, "proxy:set-rotation", strategy="round_robin")
    with pproxy("http") as good, tcp_server(hanging()) as silent_port, \
            tcp_server(resetting()) as reset_port, tcp_server(_flapping(good.port)) as flap:
        ids = {name: call(rt, "proxy:add", protocol="http", host="127.0.0.1", port=port)["id"]
               for name, port in (("silent", silent_port), ("reset", reset_port),
                                  ("flapping", flap), ("good", good.port))}
        _until_broken(rt, ids, [f"espresso grinder {i}" for i in range(10)])
        assert rt.rotation.breaker_state(ids["good"]).get() == "closed"
        # with both breakers open the picks go to the proxies that work
        again = _search_all(rt, [f"espresso grinder again {i}" for i in range(4)])
    assert {r["state"] for r in again} == {"completed"}
    assert {r["proxy_id"] for r in again} <= {ids["good"], ids["flapping"]}
    failures = [e.data["error"] for e in EventHistory(rt.app).log(limit=100_000)
                if e.event == "TabNavigationFailed"]
    assert any("(the proxy did not answer a new tunnel within" in f for f in failures), failures
    assert any("(the proxy hung up on a new tunnel before answering)" in f
               for f in failures), failures


def test_a_site_that_resets_behind_a_working_proxy_never_counts_against_it(
        rt: Runtime) -> None:
    """The proxy opens a fresh tunnel to the site: the reset is the site's doing."""
    with pproxy("http") as proxy, tcp_server(resetting()) as site:
        proxy_id = call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                        port=proxy.port)["id"]
        for _ in range(6):  # more than the 5 consecutive failures that open a breaker
            tab = call(rt, "tab:create", url=None, proxy=proxy_id)
            with pytest.raises(Exception, match="ERR_"):
                call(rt, "tab:navigate", tab_id=tab["id"], url=f"http://127.0.0.1:{site}/")
            call(rt, "tab:close", tab_id=tab["id"])
        assert rt.rotation.breaker_state(proxy_id).get() == "closed"
    failures = [e.data["error"] for e in EventHistory(rt.app).log(limit=100_000)
                if e.event == "TabNavigationFailed"]
    assert len(failures) == 6 and not any("the proxy" in f for f in failures), failures


def test_over_http_too_stalling_and_resetting_proxies_open_their_breakers(
        data_dir: Path, engine_site: SerpSite) -> None:
    """The HTTP tier blames proxies as tabs do: curl's failures through the silent and the
    resetting proxy are checked with a fresh tunnel and count against their breakers, and
    the searches move on to the proxy that works."""
    rt = _runtime(data_dir, engine_site, "engine")
    try:
        words = [f"espresso grinder {i}" for i in range(8)]
        for word, turn in itertools.product(words, range(6)):  # _until_broken's rounds
            engine_site.results[f"{word} {turn}"] = ["https://other.example/",
                                                     "https://target.example/"]
        call(rt, "automation:add-domain", domain="target.example")
        call(rt, "proxy:set-rotation", strategy="round_robin")
        with pproxy("http") as good, tcp_server(hanging()) as silent_port, \
                tcp_server(resetting()) as reset_port:
            ids = {name: call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                              port=port)["id"]
                   for name, port in (("silent", silent_port), ("reset", reset_port),
                                      ("good", good.port))}
            results = _until_broken(rt, ids, words)
            assert {r["fetched_by"] for r in results} == {"http"}
            assert {p["position"] for r in results for p in r["positions"]} == {2}
            assert {r["proxy_id"] for r in results} == {ids["good"]}
            assert rt.rotation.breaker_state(ids["good"]).get() == "closed"
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_a_retry_goes_through_another_proxy_than_the_one_that_failed_the_search(
        data_dir: Path, engine_site: SerpSite) -> None:
    """Failover keeps picking its primary until the primary's breaker opens (5 failures in
    a row), more than a search's attempts: a search's retry passes over the proxy that just
    failed it while another is available, so no search fails while the backup works."""
    rt = _runtime(data_dir, engine_site, "engine")
    try:
        engine_site.results["espresso grinder"] = ["https://other.example/",
                                                   "https://target.example/"]
        call(rt, "automation:add-domain", domain="target.example")
        with pproxy("http") as good, tcp_server(resetting()) as reset_port:
            primary = call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                           port=reset_port)["id"]
            backup = call(rt, "proxy:add", protocol="http", host="127.0.0.1",
                          port=good.port)["id"]
            call(rt, "proxy:set-rotation", strategy="failover",
                 params={"primary": primary, "backups": [backup]})
            [result] = _search_all(rt, ["espresso grinder"])
            assert (result["state"], result["proxy_id"]) == ("completed", backup), result
            assert [p["position"] for p in result["positions"]] == [2]
            # the first attempt went through the primary, the only one through it
            starts = [e.data.get("proxy_id") for e in EventHistory(rt.app).log(limit=100_000)
                      if e.event == "SearchTaskStarted"]
            assert starts == [primary, backup], starts
            # with the backup gone, the primary is all there is: it is picked again
            call(rt, "proxy:remove", proxy_id=backup)
            [alone] = _search_all(rt, ["espresso grinder"])
            assert alone["state"] == "failed" and alone["proxy_id"] == primary, alone
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
