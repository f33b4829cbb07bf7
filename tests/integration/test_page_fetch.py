"""The HTTP tier's fetcher with real curl, real proxies (pproxy, microsocks) and real local
servers: what a site sees (the profile's headers in Chrome's order, its cookies kept for a
session's searches and gone after), each route a tab can take, who is blamed when a proxy
misbehaves, and what the egress guard refuses (direct fetches to private addresses, redirects
to them, hostile sizes and redirect loops)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import pytest

from adapters.browser import BrowserEngine, ProxyRoute, TabSetup
from adapters.egress import EgressGuard
from adapters.fingerprints import generate_fingerprint
from adapters.pagefetch import (
    MAX_PAGE_BYTES,
    MAX_REDIRECTS,
    FetchError,
    FetchStoppedError,
    PageFetcher,
    Stop,
)
from domain.egress import EgressPolicy, parse_allow_entry
from domain.errors import EgressRefusedError
from domain.route_fault import RouteFault
from scripts.fixtures.servers import (
    free_port,
    have,
    http_server,
    microsocks,
    pproxy,
    resetting,
    tcp_server,
)

VERSION = "156.0.7000.12"


class _Site(BaseHTTPRequestHandler):
    """``/echo``: the request's headers in order, as JSON, and a cookie set once;
    ``/to?u=URL``: a redirect there; ``/loop``: a redirect to itself; ``/big``: a page
    larger than any fetch accepts; ``/latin1``: a page in ISO-8859-1 named in its meta."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/to":
            self._send(302, b"", [("Location", query.removeprefix("u="))])
        elif path == "/loop":
            self._send(302, b"", [("Location", "/loop")])
        elif path == "/big":
            self._send(200, b"<html>" + b"x" * (MAX_PAGE_BYTES + 1024))
        elif path == "/latin1":
            self._send(200, '<meta charset="iso-8859-1"><p>Grüße'.encode("latin-1"),
                       [("Content-Type", "text/html")])
        else:
            body = json.dumps({"headers": list(self.headers.items()),
                               "path": self.path}).encode()
            self._send(200, body, [("Set-Cookie", "visitor=v1; Path=/")])

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    with http_server(_Site) as base:
        yield base


def _engine(allow_private: bool = True) -> BrowserEngine:
    """A browser engine for its loop and egress guard (nothing is launched)."""
    return BrowserEngine(egress=EgressGuard(EgressPolicy(allow_private=allow_private)))


@pytest.fixture
def engine() -> Iterator[BrowserEngine]:
    engine = _engine()
    yield engine
    engine.close()


@pytest.fixture
def fetcher_for(engine: BrowserEngine) -> Iterator[Callable[..., PageFetcher]]:
    """Make fetchers on ``engine``'s loop; their sessions are closed at the end."""
    made: list[PageFetcher] = []

    def make(**options: Any) -> PageFetcher:
        made.append(PageFetcher(engine.egress, engine.submit, **options))
        return made[-1]

    yield make
    for fetcher in made:
        fetcher.close()


def _setup(proxy: ProxyRoute | None = None, seed: int = 11) -> TabSetup:
    fp = generate_fingerprint(seed, locale="de-DE").for_engine(VERSION)
    return TabSetup(fingerprint=fp, locale="de-DE", timezone="Europe/Berlin",
                    languages=("de-DE", "de", "en-US", "en"), proxy=proxy)


def _fetch(fetcher: PageFetcher, setup: TabSetup, url: str, key: str = "profile/route",
           referer: str | None = None):  # type: ignore[no-untyped-def]
    return fetcher.fetch(key, setup, url, referer)


def _seen(page) -> dict:  # type: ignore[no-untyped-def]
    assert page.status == 200, page.html[:200]
    return json.loads(page.html)


def test_the_site_sees_the_profiles_chrome_and_its_cookies_for_a_sessions_searches(
        fetcher_for, site) -> None:
    fetcher = fetcher_for(searches_per_session=2)
    setup = _setup()
    fp = setup.fingerprint
    first = _seen(_fetch(fetcher, setup, site + "/echo?q=one"))
    headers = dict(first["headers"])
    assert headers["User-Agent"] == fp.user_agent and "Chrome/156." in fp.user_agent
    assert headers["Accept-Language"].startswith("de-DE,de;q=0.9")
    # loopback is a secure origin to Chrome: its low-entropy client hints go along
    assert headers["sec-ch-ua-platform"] == f'"{fp.values.ua_platform}"'
    assert (headers["Sec-Fetch-Site"], headers["Sec-Fetch-Mode"], headers["Sec-Fetch-Dest"]) \
        == ("none", "navigate", "document")
    names = [name for name, _ in first["headers"]]
    assert names.index("sec-ch-ua") < names.index("User-Agent") < names.index("Accept") \
        < names.index("Sec-Fetch-Site") < names.index("Accept-Encoding") \
        < names.index("Accept-Language"), names
    assert "Cookie" not in headers and "Referer" not in headers
    # the next page: followed from the first, the cookie the site set comes back
    page_one = site + "/echo?q=one"
    second = dict(_seen(_fetch(fetcher, setup, site + "/echo?q=one&first=11",
                               referer=page_one))["headers"])
    assert (second["Cookie"], second["Referer"], second["Sec-Fetch-Site"]) == \
        ("visitor=v1", page_one, "same-origin")
    # the session's second search still has it; the third starts a new session without it
    assert dict(_seen(_fetch(fetcher, setup, site + "/echo?q=two"))["headers"])[
        "Cookie"] == "visitor=v1"
    assert "Cookie" not in dict(_seen(_fetch(fetcher, setup,
                                             site + "/echo?q=three"))["headers"])
    assert fetcher.stats() == {"open": 1, "started": 2}
    # another profile or route is another session: no cookie of this one
    other = dict(_seen(_fetch(fetcher, _setup(seed=12), site + "/echo?q=x",
                              key="other/route"))["headers"])
    assert "Cookie" not in other


@pytest.mark.parametrize("protocol", ["http", "socks5"])
def test_fetches_go_through_the_routes_proxy_with_its_credentials(fetcher_for, site,
                                                                  protocol) -> None:
    fetcher = fetcher_for()
    with pproxy(protocol, "user", "p@ss:word", verbose=True) as proxy:
        route = ProxyRoute(protocol, "127.0.0.1", proxy.port, "user", "p@ss:word")
        page = _fetch(fetcher, _setup(route), site + "/echo?q=proxied")
        assert _seen(page)["path"] == "/echo?q=proxied"
        port = urlsplit(site).port
        assert proxy.log.wait_for(lambda lines: any(f":{port}" in line for line in lines))
        # a wrong password: the proxy refuses, and the proxy is to blame
        wrong = ProxyRoute(protocol, "127.0.0.1", proxy.port, "user", "wrong")
        with pytest.raises(FetchError) as refused:
            _fetch(fetcher, _setup(wrong), site + "/echo", key="other")
        assert refused.value.fault is RouteFault.PROXY
        assert "wrong" not in refused.value.message and "p@ss" not in refused.value.message


@pytest.mark.skipif(not have("microsocks"), reason="microsocks (Debian) is not installed")
def test_socks5_with_credentials_goes_through_microsocks(fetcher_for, site) -> None:
    fetcher = fetcher_for()
    with microsocks("sockuser", "sockpass") as proxy:
        route = ProxyRoute("socks5", "127.0.0.1", proxy.port, "sockuser", "sockpass")
        assert _seen(_fetch(fetcher, _setup(route), site + "/echo?q=m"))["path"] \
            == "/echo?q=m"


@pytest.mark.parametrize(("handler", "fault"), [
    (None, RouteFault.PROXY),  # nothing listens: curl cannot reach the proxy
    (resetting, RouteFault.PROXY),  # resets every connection: a fresh tunnel fails too
])
def test_a_proxy_that_refuses_or_resets_is_to_blame(fetcher_for, site, handler,
                                                    fault) -> None:
    fetcher = fetcher_for()
    if handler is None:
        port = free_port()
        with pytest.raises(FetchError) as failed:
            _fetch(fetcher, _setup(ProxyRoute("http", "127.0.0.1", port)), site)
    else:
        with tcp_server(handler()) as port, pytest.raises(FetchError) as failed:
            _fetch(fetcher, _setup(ProxyRoute("http", "127.0.0.1", port)), site)
    assert failed.value.fault is fault, failed.value.message


def test_a_site_that_resets_behind_a_working_proxy_is_not_the_proxys_fault(
        fetcher_for) -> None:
    fetcher = fetcher_for()
    with pproxy("http") as proxy, tcp_server(resetting()) as site_port:
        route = ProxyRoute("http", "127.0.0.1", proxy.port)
        with pytest.raises(FetchError) as failed:
            _fetch(fetcher, _setup(route), f"http://127.0.0.1:{site_port}/")
    assert failed.value.fault is RouteFault.NONE, failed.value.message


def test_direct_fetches_pass_the_egress_guard() -> None:
    """Without private targets allowed, a direct fetch of a loopback page is refused by
    the guard in every spelling, and so is a redirect to one from an allowed page."""
    engine = _engine(allow_private=False)
    fetcher = PageFetcher(engine.egress, engine.submit)
    try:
        with http_server(_Site) as base:
            port = urlsplit(base).port
            for url in (f"{base}/echo", f"http://2130706433:{port}/echo",
                        f"http://0x7f.1:{port}/echo", f"http://localhost:{port}/echo"):
                with pytest.raises(EgressRefusedError):
                    _fetch(fetcher, _setup(), url)
    finally:
        fetcher.close()
        engine.close()


def test_redirects_are_checked_and_bounded(site) -> None:
    """A page may redirect to a public name (followed), not to a private address, even
    when the page itself was allowed; loops end after MAX_REDIRECTS."""
    port = urlsplit(site).port
    engine = BrowserEngine(egress=EgressGuard(EgressPolicy(
        allowed=(parse_allow_entry(f"127.0.0.1:{port}"),))))
    fetcher = PageFetcher(engine.egress, engine.submit)
    try:
        assert _seen(_fetch(fetcher, _setup(), f"{site}/to?u=/echo"))["path"] == "/echo"
        with pytest.raises(EgressRefusedError):
            _fetch(fetcher, _setup(), f"{site}/to?u=http://127.0.0.2:{port}/echo")
        with pytest.raises(EgressRefusedError):
            _fetch(fetcher, _setup(), f"{site}/to?u=http://[::ffff:10.0.0.1]/")
        with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
            _fetch(fetcher, _setup(), f"{site}/loop")
        with pytest.raises(FetchError, match="not an http"):
            _fetch(fetcher, _setup(), f"{site}/to?u=file:///etc/passwd")
    finally:
        fetcher.close()
        engine.close()


def test_hostile_sizes_are_refused_and_charsets_read(fetcher_for, site) -> None:
    fetcher = fetcher_for()
    with pytest.raises(FetchError, match="larger than"):
        _fetch(fetcher, _setup(), site + "/big")
    assert "Grüße" in _fetch(fetcher, _setup(), site + "/latin1").html


def test_a_stalled_fetch_ends_when_stopped_from_another_thread(fetcher_for) -> None:
    """A stop does not wait out a silent server: the fetch runs in the worker's thread and
    its ``Stop`` (set by the search's cancel token) ends it at once, from any thread; the
    session that held the transfer goes, and the fetcher's close stops what still runs."""
    fetcher = fetcher_for(timeout=600)
    connected = threading.Semaphore(0)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.release()
        await reader.read()
        writer.close()

    with tcp_server(silent) as port:
        url = f"http://127.0.0.1:{port}/"
        stop = Stop()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fetching = pool.submit(fetcher.fetch, "k", _setup(), url, None, stop)
            assert connected.acquire(timeout=60), "the fetch never reached the server"
            stop.set()
            with pytest.raises(FetchStoppedError):
                fetching.result(60)
            assert fetcher.stats() == {"open": 0, "started": 1}
            # a stop set before the fetch starts: it never reaches the server
            early = Stop()
            early.set()
            with pytest.raises(FetchStoppedError):
                fetcher.fetch("k", _setup(), url, None, early)
            # the host stops while a fetch stalls: close ends it, and refuses what comes next
            fetching = pool.submit(fetcher.fetch, "k", _setup(), url)
            assert connected.acquire(timeout=60), "the second fetch never reached the server"
            fetcher.close()
            with pytest.raises(FetchStoppedError):
                fetching.result(60)
            with pytest.raises(FetchError, match="closed"):
                fetcher.fetch("k", _setup(), url)
            assert fetcher.stats()["open"] == 0


def test_two_threads_fetch_in_one_session_at_once(fetcher_for, site) -> None:
    """Two searches of one profile and proxy at once (two workers) each get a handle of
    their own in the session, and share its cookies."""
    fetcher = fetcher_for()
    setup = _setup()
    _seen(_fetch(fetcher, setup, site + "/echo?q=first"))  # the site sets its cookie
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda n: _fetch(fetcher, setup, site + f"/echo?q={n}"),
                              range(12)))
    for n, page in enumerate(pages):
        seen = _seen(page)
        assert seen["path"] == f"/echo?q={n}"
        assert dict(seen["headers"])["Cookie"] == "visitor=v1"
    assert fetcher.stats()["open"] == 1


def test_a_profile_or_proxy_changed_since_gets_a_new_session(fetcher_for, site) -> None:
    """A session serves the setup it was opened for: when the profile's fingerprint or its
    proxy's credentials change, the next fetch under the same key starts a new session
    (the new identity never carries the old one's cookies, nor the old credentials)."""
    fetcher = fetcher_for()
    with pproxy("http", "user", "first") as proxy:
        route = ProxyRoute("http", "127.0.0.1", proxy.port, "user", "first")
        setup = _setup(route, seed=11)
        _seen(_fetch(fetcher, setup, site + "/echo"))
        kept = dict(_seen(_fetch(fetcher, setup, site + "/echo"))["headers"])
        assert kept["Cookie"] == "visitor=v1" and fetcher.stats()["started"] == 1
        regenerated = _setup(route, seed=12)
        fresh = dict(_seen(_fetch(fetcher, regenerated, site + "/echo"))["headers"])
        assert "Cookie" not in fresh
        assert fresh["User-Agent"] == regenerated.fingerprint.user_agent
        assert fetcher.stats() == {"open": 1, "started": 2}
    with pproxy("http", "user", "second") as moved:  # the proxy's port and password changed
        route = ProxyRoute("http", "127.0.0.1", moved.port, "user", "second")
        assert "Cookie" not in dict(_seen(_fetch(fetcher, _setup(route, seed=12),
                                                 site + "/echo"))["headers"])
        assert fetcher.stats() == {"open": 1, "started": 3}


def test_sessions_are_bounded_least_recently_used_first(fetcher_for, site,
                                                        monkeypatch) -> None:
    monkeypatch.setattr("adapters.pagefetch._fetcher.MAX_SESSIONS", 2)
    fetcher = fetcher_for()
    setup = _setup()
    for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
        _seen(_fetch(fetcher, setup, site + "/echo", key=key))
    assert fetcher.stats() == {"open": 2, "started": 3}
    again = dict(_seen(_fetch(fetcher, setup, site + "/echo", key="a"))["headers"])
    assert again["Cookie"] == "visitor=v1", "a's session (and its cookie) was kept"
    fresh = dict(_seen(_fetch(fetcher, setup, site + "/echo", key="b"))["headers"])
    assert "Cookie" not in fresh, "b's session was closed: a new one has no cookie"


def test_a_retired_session_closes_and_the_next_fetch_starts_a_new_one(fetcher_for, site) -> None:
    """A one-off profile's session is retired after its search (the tab supervisor does,
    when its ticket ends): it serves nothing more and keeps no cookie for anyone."""
    fetcher = fetcher_for()
    setup = _setup()
    _seen(_fetch(fetcher, setup, site + "/echo", key="once"))
    fetcher.retire("once")
    assert fetcher.stats() == {"open": 0, "started": 1}
    again = dict(_seen(_fetch(fetcher, setup, site + "/echo", key="once"))["headers"])
    assert "Cookie" not in again, "a new session: the retired one's cookie is gone"
    assert fetcher.stats() == {"open": 1, "started": 2}
