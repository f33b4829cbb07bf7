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

Every coroutine runs on the browser engine's loop (the relays live there too).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import re
import time
from collections.abc import Callable, Coroutine
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

if TYPE_CHECKING:  # curl_cffi is imported on first use (see ``_chrome._targets``)
    from curl_cffi.requests import AsyncSession, Response
    from curl_cffi.requests.exceptions import RequestException

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
    import curl_cffi.requests  # noqa: F401  (the rest of the client: sessions, errors)


class FetchError(BrowserError):
    """A page could not be fetched; ``fault``: whether its proxy is to blame (``PROXY``),
    may be (``SUSPECT``: the owner asks it for a fresh tunnel) or not (``NONE``)."""

    def __init__(self, message: str, fault: RouteFault = RouteFault.NONE) -> None:
        super().__init__(message)
        self.fault = fault


@dataclass(frozen=True)
class FetchedPage:
    """What a fetch led to: the final URL (after redirects), its status and its HTML."""

    url: str
    status: int
    html: str
    latency_ms: float


@dataclass
class _Session:
    client: AsyncSession[Response]
    target: str
    proxy: str | None
    proxy_auth: tuple[str, str] | None
    relay: LocalProxy | None
    started: float
    used: float
    searches: int = 0
    busy: int = 0
    retired: bool = False
    closing: set[asyncio.Task[None]] = field(default_factory=set)


class PageFetcher:
    """Fetches results pages for searches, a warm session per profile and proxy."""

    def __init__(self, egress: EgressGuard, submit: Submit, *,
                 searches_per_session: int = SESSION_SEARCHES, idle: float = SESSION_IDLE,
                 clock: Callable[[], float] = time.monotonic, timeout: float = 30.0) -> None:
        """``submit``: runs a coroutine on the loop the fetches run on (the browser
        engine's ``submit``)."""
        self._egress = egress
        self._submit = submit
        self._per_session = searches_per_session
        self._idle = idle
        self._clock = clock
        self.timeout = timeout
        self._sessions: dict[str, _Session] = {}
        self.sessions_started = 0

    # --- sessions --------------------------------------------------------------------------------

    async def _session(self, key: str, setup: TabSetup, search: bool) -> _Session:
        """The warm session for ``key`` (a profile and route), a new one when it served
        its searches or sat idle too long; ``search``: a new search starts (counted)."""
        await self._retire_idle()
        session = self._sessions.get(key)
        if session is not None and search and session.searches >= self._per_session:
            self._retire(key)
            session = None
        if session is None:
            while len(self._sessions) >= MAX_SESSIONS:  # the least recently used goes
                self._retire(min(self._sessions, key=lambda k: self._sessions[k].used))
            session = await self._open(setup)
            self._sessions[key] = session
            self.sessions_started += 1
        session.used = self._clock()
        if search:
            session.searches += 1
        return session

    async def _open(self, setup: TabSetup) -> _Session:
        from curl_cffi.const import CurlOpt
        from curl_cffi.requests import AsyncSession

        fp = setup.fingerprint
        target = impersonation(int(fp.major), fp.values.ua_platform, fp.values.mobile)
        route, relay = setup.proxy, None
        if route is None:  # direct: every connection passes the egress guard
            relay = await LocalProxy(direct(self._egress), "direct fetch").start()
        elif route.needs_relay:  # curl cannot authenticate to SOCKS proxies as Chromium
            relay = await LocalProxy(via_proxy(route.protocol, route.host, route.port,
                                               route.username, route.password),
                                     "SOCKS relay").start()
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
        client: AsyncSession[Response] = AsyncSession(
            impersonate=target, default_headers=False, max_clients=4, allow_redirects=False,
            curl_options=tunnel)
        now = self._clock()
        return _Session(client, target, proxy, auth, relay, now, now)

    def retire(self, key: str) -> concurrent.futures.Future[None]:
        """Close ``key``'s session once its fetches are done (a one-off profile's, after
        its one search), from any thread."""
        async def retire() -> None:
            self._retire(key)

        return self._submit(retire())

    def _retire(self, key: str) -> None:
        """Stop handing out ``key``'s session; it closes once its fetches are done."""
        session = self._sessions.pop(key, None)
        if session is not None:
            session.retired = True
            if not session.busy:
                self._close_later(session)

    def _close_later(self, session: _Session) -> None:
        task = asyncio.ensure_future(self._close(session))
        session.closing.add(task)
        task.add_done_callback(session.closing.discard)

    async def _retire_idle(self) -> None:
        now = self._clock()
        for key, session in list(self._sessions.items()):
            if not session.busy and now - session.used >= self._idle:
                self._retire(key)

    @staticmethod
    async def _close(session: _Session) -> None:
        """Close a session's curl handles and relay (bounded: a stop never waits on a
        transfer that will not end)."""
        try:
            await asyncio.wait_for(session.client.close(), CLOSE_TIMEOUT)
        except Exception:
            log.warning("closing a fetch session failed or took over %.0f s", CLOSE_TIMEOUT,
                        exc_info=True)
        if session.relay is not None:
            await session.relay.close()

    async def close(self) -> None:
        """Close every session (the host stops)."""
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await self._close(session)

    def stats(self) -> dict[str, int]:
        """Sessions open now and started in all (diagnostics, benchmarks)."""
        return {"open": len(self._sessions), "started": self.sessions_started}

    # --- fetching --------------------------------------------------------------------------------

    def start(self, key: str, setup: TabSetup, url: str,
              referer: str | None = None) -> concurrent.futures.Future[FetchedPage]:
        """``fetch`` on the fetcher's loop, from any thread: cancel the future to abort."""
        return self._submit(self.fetch(key, setup, url, referer))

    async def fetch(self, key: str, setup: TabSetup, url: str,
                    referer: str | None = None) -> FetchedPage:
        """Fetch ``url`` in ``key``'s session as the profile's Chrome would navigate to it:
        typed in (``referer`` None: a new search, counted against the session) or followed
        from ``referer`` (its next page). Raises ``FetchError`` (its fault says whether the
        proxy is to blame) or ``EgressRefusedError`` (the URL or a redirect names a target
        the egress policy refuses)."""
        session = await self._session(key, setup, search=referer is None)
        session.busy += 1
        start = time.perf_counter()
        try:
            final, status, body, charset = await self._follow(session, setup, url, referer)
        except asyncio.CancelledError:
            # a stopped fetch may leave its transfer running in the session: the session
            # goes (closed once its other fetches are done) and the next one starts clean
            if self._sessions.get(key) is session:
                self._retire(key)
            raise
        finally:
            session.busy -= 1
            session.used = self._clock()
            if session.retired and not session.busy:
                self._close_later(session)
        latency = (time.perf_counter() - start) * 1000
        return FetchedPage(capped(final, URL_CHARS), status, _decode(body, charset),
                           round(latency, 1))

    async def _follow(self, session: _Session, setup: TabSetup, url: str,
                      referer: str | None) -> tuple[str, int, bytes, str | None]:
        for _hop in range(MAX_REDIRECTS + 1):
            self._check(url)
            status, location, body, charset = await self._get(session, setup, url, referer)
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

    async def _get(self, session: _Session, setup: TabSetup, url: str, referer: str | None
                   ) -> tuple[int, str | None, bytes, str | None]:
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

        # the body through a callback, not a stream: a stream adds a task, a queue and a
        # loop turn per chunk, ~0.4 ms of the loop's CPU per page (10% of the HTTP tier's
        # fetching); a cancelled fetch still takes its handle out of the transfer
        try:
            response = await session.client.get(
                url, headers=headers, proxy=session.proxy, proxy_auth=session.proxy_auth,
                timeout=self.timeout, content_callback=take,
                accept_encoding=accept_encoding(url),
                http_version="v1" if urlsplit(url).scheme == "http" else None)
        except RequestException as exc:
            if too_large:
                raise FetchError(f"the page is larger than {MAX_PAGE_BYTES >> 20} MiB") from None
            raise await self._failure(session, setup, exc, url, refusals) from None
        if relay is not None and relay.refusals != refusals:
            raise EgressRefusedError(f"egress guard refused {relay.refused[-1]}")
        if response.status_code == 407 and setup.proxy is not None:  # a plain-http page
            raise FetchError("the proxy refused its credentials (HTTP 407)", RouteFault.PROXY)
        return (response.status_code, response.headers.get("location"), bytes(body),
                response.charset_encoding)

    async def _failure(self, session: _Session, setup: TabSetup, exc: RequestException,
                       url: str, refusals: int) -> Exception:
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
        fault = await tunnel_fault(route.protocol, route.host, route.port, route.username,
                                   route.password, target.hostname or "", port,
                                   timeout=PROBE_TIMEOUT)
        if fault is None:
            return FetchError(message)
        return FetchError(f"{message} ({fault})", RouteFault.PROXY)


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
