"""Results pages over HTTP (the HTTP tier): one curl session per profile and proxy, kept warm
for a number of searches as a person keeps a browser open.

A session presents its profile's Chrome (see ``_chrome``), keeps the cookies the engine sets
and its TLS connections, and serves ``SESSION_SEARCHES`` searches or ``SESSION_IDLE``
seconds without one, whichever comes first; then a new one starts with no cookies: engines
link what one cookie jar does, and a person's browsing day has breaks too. Sessions never
share connections or cookies (each has its own curl multi handle); at most
``MAX_SESSIONS`` are open (a pool of many proxies: the least recently used closes first).

Routes are a tab's: a proxy as Chromium would use it (SOCKS5 resolves names at the proxy),
SOCKS with credentials and direct fetches through a loopback relay of ours, and direct ones
past the egress guard. Every URL, and every redirect, is checked against the egress policy
before it is asked for; redirects are followed by hand for that (at most ``MAX_REDIRECTS``).
A page larger than ``MAX_PAGE_BYTES`` is refused as it arrives.

A fetch runs in the thread that asks for it (a search worker's), ended at once from any
other by its ``Stop`` (see ``_transfer``); only the relays live on the browser engine's loop,
and the probe that asks a failed proxy for a fresh tunnel runs there too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

from adapters.browser import ProxyRoute, TabSetup
from adapters.egress import EgressGuard, LocalProxy, direct, via_proxy
from adapters.proxycheck import PROBE_TIMEOUT, tunnel_fault
from domain.endpoints import endpoint_url
from domain.errors import BrowserError, EgressRefusedError
from domain.route_fault import RouteFault
from domain.text_limits import URL_CHARS, capped

from ._chrome import accept_encoding, impersonation, navigation_headers
from ._stop import Stop

if TYPE_CHECKING:  # curl_cffi is imported on first use (see ``_chrome._targets``)
    from curl_cffi.requests.exceptions import RequestException

    from ._transfer import ChromeSession

log = logging.getLogger(__name__)

T = TypeVar("T")


class Submit(Protocol):
    """Runs a coroutine on the loop the fetches run on, from any thread."""

    def __call__(self, coro: Coroutine[Any, Any, T], /) -> concurrent.futures.Future[T]: ...

SESSION_SEARCHES = 20
SESSION_IDLE = 15 * 60.0
MAX_SESSIONS = 64  # open at once (each holds its connections, and a relay when it has one)
MAX_REDIRECTS = 10
MAX_PAGE_BYTES = 8 * 1024 * 1024
CLOSE_TIMEOUT = 10.0
LOOP_TIMEOUT = 30.0  # a relay's start, a probe: the loop answers in far less unless stuck
_REDIRECTS = (301, 302, 303, 307, 308)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)



@functools.cache
def _codes() -> tuple[frozenset[int], frozenset[int], int]:
    """curl's errors that name the proxy (it cannot be resolved, reached, or it refused the
    tunnel or the SOCKS handshake), those that say the connection failed or went silent:
    the proxy's or the site's (a fresh tunnel tells), and "could not connect"."""
    from curl_cffi.const import CurlECode

    proxy = frozenset({CurlECode.COULDNT_RESOLVE_PROXY, CurlECode.PROXY})
    suspect = frozenset({CurlECode.OPERATION_TIMEDOUT, CurlECode.GOT_NOTHING,
                         CurlECode.SEND_ERROR, CurlECode.RECV_ERROR,
                         CurlECode.SSL_CONNECT_ERROR, CurlECode.PARTIAL_FILE, CurlECode.HTTP2,
                         CurlECode.HTTP2_STREAM})
    return proxy, suspect, CurlECode.COULDNT_CONNECT


def warm() -> None:
    """Load curl_cffi and what a first fetch looks up (its Chrome targets, its error codes)
    now: a host does at start, so that its first searches over HTTP do not wait the
    ~0.1-0.2 s its import takes (every search under way waited for it)."""
    from ._chrome import _targets

    _targets()
    _codes()
    from . import _transfer  # noqa: F401  (the rest of the client: sessions, errors)


class FetchError(BrowserError):
    """A page could not be fetched; ``fault``: whether its proxy is to blame (``PROXY``),
    may be (``SUSPECT``: the owner asks it for a fresh tunnel) or not (``NONE``)."""

    def __init__(self, message: str, fault: RouteFault = RouteFault.NONE) -> None:
        super().__init__(message)
        self.fault = fault


class FetchStoppedError(FetchError):
    """The fetch was ended by its ``Stop`` (the work it was for was stopped)."""

    def __init__(self) -> None:
        super().__init__("fetch aborted (the work it was for was stopped)")


@dataclass(frozen=True)
class FetchedPage:
    """What a fetch led to: the final URL (after redirects), its status and its HTML."""

    url: str
    status: int
    html: str
    latency_ms: float


@dataclass(eq=False)
class _Session:
    client: ChromeSession
    setup: TabSetup  # what it was opened for
    target: str
    proxy: str | None
    proxy_auth: tuple[str, str] | None
    relay: LocalProxy | None
    started: float
    used: float
    searches: int = 0
    retired: bool = False
    running: list[Stop] = field(default_factory=list)  # its fetches under way

    @property
    def busy(self) -> int:
        """How many fetches run in it now."""
        return len(self.running)


class PageFetcher:
    """Fetches results pages for searches, a warm session per profile and proxy, each fetch
    in the thread that asks (thread-safe)."""

    def __init__(self, egress: EgressGuard, submit: Submit, *,
                 searches_per_session: int = SESSION_SEARCHES, idle: float = SESSION_IDLE,
                 clock: Callable[[], float] = time.monotonic, timeout: float = 30.0) -> None:
        """``submit``: runs a coroutine on the loop the relays and probes run on (the
        browser engine's ``submit``)."""
        self._egress = egress
        self._submit = submit
        self._per_session = searches_per_session
        self._idle = idle
        self._clock = clock
        self.timeout = timeout
        self._lock = threading.Lock()  # guards the sessions and their counts
        self._sessions: dict[str, _Session] = {}
        self._closed = False
        self.sessions_started = 0

    # --- sessions --------------------------------------------------------------------------------

    def _session(self, key: str, setup: TabSetup, search: bool, stop: Stop) -> _Session:
        """The warm session for ``key`` (a profile and route), a new one when it served
        its searches, sat idle too long or was opened for another setup, taken for a fetch
        (``stop`` ends it); ``search``: a new search starts (counted)."""
        ended: list[_Session] = []
        try:
            with self._lock:
                if self._closed:
                    raise FetchError("the page fetcher is closed (the host is stopping)")
                ended += self._retire_idle()
                session = self._sessions.get(key)
                if session is not None and (
                        (search and session.searches >= self._per_session)
                        or (session.setup is not setup and session.setup != setup)):
                    # it served its searches, or its profile or proxy changed since it
                    # opened (a new fingerprint, new credentials): a new one, no cookies
                    ended += self._retire(key)
                    session = None
                if session is None:
                    while len(self._sessions) >= MAX_SESSIONS:  # the least recently used goes
                        ended += self._retire(min(self._sessions,
                                                  key=lambda k: self._sessions[k].used))
                    session = self._open(setup)
                    self._sessions[key] = session
                    self.sessions_started += 1
                session.used = self._clock()
                if search:
                    session.searches += 1
                session.running.append(stop)
                return session
        finally:
            self._close_all(ended)

    def _done(self, session: _Session, stop: Stop) -> None:
        """A fetch in ``session`` ended: a retired session closes with its last one."""
        with self._lock:
            session.running.remove(stop)
            session.used = self._clock()
            ended = session.retired and not session.busy
        if ended:
            self._close(session)

    def _open(self, setup: TabSetup) -> _Session:
        from curl_cffi.const import CurlOpt

        from ._transfer import ChromeSession

        fp = setup.fingerprint
        target = impersonation(int(fp.major), fp.values.ua_platform, fp.values.mobile)
        route, relay = setup.proxy, None
        if route is None:  # direct: every connection passes the egress guard
            relay = self._on_loop(LocalProxy(direct(self._egress), "direct fetch").start())
        elif route.needs_relay:  # curl cannot authenticate to SOCKS proxies as Chromium
            relay = self._on_loop(LocalProxy(via_proxy(route.protocol, route.host, route.port,
                                                       route.username, route.password),
                                             "SOCKS relay").start())
        if relay is not None:
            route = ProxyRoute("http", "127.0.0.1", relay.port, relay.username, relay.password)
        assert route is not None
        # Chromium resolves names at a SOCKS5 proxy and locally for SOCKS4
        scheme = {"socks5": "socks5h"}.get(route.protocol, route.protocol)
        proxy = endpoint_url(scheme, route.host, route.port)
        auth = (route.username, route.password or "") if route.username else None
        # through our own relay even plain http goes in a CONNECT tunnel, so that the relay's
        # refusals and its upstream's failures reach curl as a failed tunnel, never as a page
        tunnel = {CurlOpt.HTTPPROXYTUNNEL: 1} if relay is not None else {}
        client = ChromeSession(impersonate=target, default_headers=False,
                               allow_redirects=False, curl_options=tunnel)
        now = self._clock()
        return _Session(client, setup, target, proxy, auth, relay, now, now)

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it (bounded)."""
        return self._submit(coro).result(LOOP_TIMEOUT)

    def retire(self, key: str) -> None:
        """Close ``key``'s session once its fetches are done (a one-off profile's, after
        its one search), from any thread."""
        with self._lock:
            ended = self._retire(key)
        self._close_all(ended)

    def _retire(self, key: str) -> list[_Session]:
        """Stop handing out ``key``'s session (under the lock): the session to close now,
        if its fetches are done (else it closes with its last one)."""
        session = self._sessions.pop(key, None)
        if session is None:
            return []
        session.retired = True
        return [] if session.busy else [session]

    def _retire_idle(self) -> list[_Session]:
        now = self._clock()
        return [ended for key, session in list(self._sessions.items())
                if not session.busy and now - session.used >= self._idle
                for ended in self._retire(key)]

    def _close_all(self, sessions: list[_Session]) -> None:
        for session in sessions:
            self._close(session)

    def _close(self, session: _Session, wait: bool = False) -> None:
        """Close a session's curl handles and relay (the relay on the loop: waited for
        only when the fetcher closes, and bounded then)."""
        try:
            session.client.close()
        except Exception:
            log.warning("closing a fetch session failed", exc_info=True)
        if session.relay is None:
            return
        closed = self._submit(session.relay.close())
        if wait:
            try:
                closed.result(CLOSE_TIMEOUT)
            except Exception:
                log.warning("closing a fetch relay failed or took over %.0f s", CLOSE_TIMEOUT,
                            exc_info=True)

    def close(self) -> None:
        """Close every session (the host stops): fetches under way are stopped, and their
        sessions close as they end; later fetches are refused."""
        with self._lock:
            self._closed = True
            sessions, self._sessions = list(self._sessions.values()), {}
            stops = [stop for session in sessions for stop in session.running]
            idle = []
            for session in sessions:
                session.retired = True
                if not session.busy:
                    idle.append(session)
        for stop in stops:
            stop.set()
        for session in idle:
            self._close(session, wait=True)

    def stats(self) -> dict[str, int]:
        """Sessions open now and started in all (diagnostics, benchmarks)."""
        with self._lock:
            return {"open": len(self._sessions), "started": self.sessions_started}

    # --- fetching --------------------------------------------------------------------------------

    def fetch(self, key: str, setup: TabSetup, url: str, referer: str | None = None,
              stop: Stop | None = None) -> FetchedPage:
        """Fetch ``url`` in ``key``'s session, in this thread, as the profile's Chrome would
        navigate to it: typed in (``referer`` None: a new search, counted against the
        session) or followed from ``referer`` (its next page). ``stop`` ends it from any
        thread (``FetchStoppedError``; its session is retired: the next starts clean).
        Raises ``FetchError`` (its fault says whether the proxy is to blame) or
        ``EgressRefusedError`` (the URL or a redirect names a target the egress policy
        refuses)."""
        stop = stop if stop is not None else Stop()
        session = self._session(key, setup, referer is None, stop)
        start = time.perf_counter()
        try:
            final, status, body, charset = self._follow(session, setup, url, referer, stop)
        except FetchStoppedError:
            with self._lock:  # (closed by _done: this fetch still holds it)
                if self._sessions.get(key) is session:
                    self._retire(key)
            raise
        finally:
            self._done(session, stop)
        latency = (time.perf_counter() - start) * 1000
        return FetchedPage(capped(final, URL_CHARS), status, _decode(body, charset),
                           round(latency, 1))

    def _follow(self, session: _Session, setup: TabSetup, url: str, referer: str | None,
                stop: Stop) -> tuple[str, int, bytes, str | None]:
        for _hop in range(MAX_REDIRECTS + 1):
            self._check(url)
            status, location, body, charset = self._get(session, setup, url, referer, stop)
            if status in _REDIRECTS and location:
                url = urljoin(url, location)
                continue
            return url, status, body, charset
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _check(self, url: str) -> None:
        """Refuse a URL that is not http(s), or whose host is one the egress policy refuses
        by its text (a literal private address, a local name), whatever the route."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {capped(url, 200)}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            reason = self._egress.policy.refuse_host(parts.hostname, port)
        except ValueError:
            raise FetchError(f"not a valid URL: {capped(url, 200)}") from None
        if reason is not None:
            raise EgressRefusedError(f"egress guard refused {parts.hostname}: {reason}")

    def _get(self, session: _Session, setup: TabSetup, url: str, referer: str | None,
             stop: Stop) -> tuple[int, str | None, bytes, str | None]:
        from curl_cffi.curl import CURL_WRITEFUNC_ERROR
        from curl_cffi.requests.exceptions import RequestException

        relay = session.relay
        refusals = relay.refusals if relay is not None else 0
        headers = navigation_headers(setup.fingerprint, setup.languages, url, referer)
        body = bytearray()
        too_large = False

        def take(chunk: bytes) -> int:
            """curl's write callback: keep the chunk, or end the transfer once the page
            is larger than ``MAX_PAGE_BYTES`` (as it arrives, decoded)."""
            nonlocal too_large
            body.extend(chunk)
            if len(body) > MAX_PAGE_BYTES:
                too_large = True
                return CURL_WRITEFUNC_ERROR
            return len(chunk)

        try:
            response = session.client.fetch(
                stop, url, headers=headers, proxy=session.proxy, proxy_auth=session.proxy_auth,
                timeout=self.timeout, content_callback=take,
                accept_encoding=accept_encoding(url),
                http_version="v1" if urlsplit(url).scheme == "http" else None)
        except RequestException as exc:
            if stop.is_set:
                raise FetchStoppedError() from None
            if too_large:
                raise FetchError(f"the page is larger than {MAX_PAGE_BYTES >> 20} MiB") from None
            raise self._failure(session, setup, exc, url, refusals, stop) from None
        if relay is not None and relay.refusals != refusals:
            raise EgressRefusedError(f"egress guard refused {relay.refused[-1]}")
        if response.status_code == 407 and setup.proxy is not None:  # a plain-http page
            raise FetchError("the proxy refused its credentials (HTTP 407)", RouteFault.PROXY)
        return (response.status_code, response.headers.get("location"), bytes(body),
                response.charset_encoding)

    def _failure(self, session: _Session, setup: TabSetup, exc: RequestException,
                 url: str, refusals: int, stop: Stop) -> Exception:
        """The error to raise for a failed request: the egress guard's refusal, or a
        ``FetchError`` saying whether the proxy is to blame."""
        relay = session.relay
        if relay is not None and relay.refusals != refusals:
            return EgressRefusedError(f"egress guard refused {relay.refused[-1]}")
        message = _one_line(exc)
        if setup.proxy is None:
            return FetchError(message)  # direct: no proxy to blame
        proxy_codes, suspect_codes, no_connection = _codes()
        if exc.code in proxy_codes or "CONNECT tunnel failed" in message \
                or (exc.code == no_connection and relay is None):
            return FetchError(message, RouteFault.PROXY)
        if exc.code not in suspect_codes:
            return FetchError(message)
        target = urlsplit(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        route = setup.proxy
        probe = self._submit(tunnel_fault(route.protocol, route.host, route.port,
                                          route.username, route.password,
                                          target.hostname or "", port, timeout=PROBE_TIMEOUT))
        with _stopping(stop, probe):
            try:
                fault = probe.result(PROBE_TIMEOUT + LOOP_TIMEOUT)
            except concurrent.futures.CancelledError:
                return FetchStoppedError()
        if fault is None:
            return FetchError(message)
        return FetchError(f"{message} ({fault})", RouteFault.PROXY)


@contextlib.contextmanager
def _stopping(stop: Stop, future: concurrent.futures.Future[Any]) -> Iterator[None]:
    """While the block runs, ``stop`` cancels ``future`` (a probe on the loop)."""
    if not stop.attach(future.cancel):
        future.cancel()
    try:
        yield
    finally:
        stop.detach()


def _one_line(exc: RequestException) -> str:
    """curl's reason, one line, without the link to its documentation."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s*See https?://\S+.*$", "", text)[:300]


def _decode(body: bytes, charset: str | None) -> str:
    """The page's text: the charset its headers name, else its ``<meta charset>``, else
    UTF-8 (undecodable bytes replaced, as a browser shows them)."""
    names = [charset] if charset else []
    found = _META_CHARSET.search(body[:4096])
    if found:
        names.append(found.group(1).decode("ascii"))
    for name in names:
        try:
            return body.decode(name, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")
