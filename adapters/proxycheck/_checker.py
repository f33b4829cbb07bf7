"""Check a proxy by fetching a check URL through it, N times, with a bounded concurrency.

HTTP(S) proxies get an absolute-form request (that is how a browser uses them for http:// and
it lets the check endpoint see any forwarding headers the proxy adds); SOCKS proxies get a
tunnel from python-socks and an origin-form request through it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio.v2 import Proxy as SocksProxy

from adapters.egress import EgressGuard, EgressRefused
from adapters.proxycheck._http import DroppedResponse, GarbageResponse, HttpResponse, exchange
from domain.egress import EgressPolicy
from domain.endpoints import host_port
from domain.health import Anonymity, Failure, HealthReport
from domain.progress import Progress

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "via", "x-proxy-id",
                      "client-ip", "x-client-ip")
OnResult = Callable[[str, HealthReport], None]


@dataclass(frozen=True)
class ProxyEndpoint:
    """Where and how to reach a proxy; the password never shows in a repr."""

    id: str
    protocol: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class _CheckFailed(Exception):
    def __init__(self, failure: Failure, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.failure, self.message, self.status = failure, message, status


class ProxyChecker:
    """Fetch ``check_url`` through proxies and report latency, exit IP and anonymity."""

    def __init__(self, check_url: str, *, samples: int = 3, timeout: float = 10.0,
                 concurrency: int = 50, egress: EgressGuard | None = None) -> None:
        """``egress`` guards the one direct fetch (the probe); by default nothing but
        public addresses is reached directly."""
        parts = urlsplit(check_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("check URL must be http(s)://host[:port]/path")
        self.url = check_url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = parts.scheme == "https"
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.samples = samples
        self.timeout = timeout
        self.concurrency = concurrency
        self.client_ip: str | None = None
        self.client_country: str | None = None  # when the check URL names countries
        self.probed = False
        self.direct_problem: str | None = None  # what the direct probe found wrong
        self._egress = egress or EgressGuard(EgressPolicy())

    async def probe(self) -> str | None:
        """Fetch the check URL directly once: learn our own address (for leak detection)
        and whether the target itself answers. Returns what went wrong, or None."""
        self.probed = True
        try:
            tls = ssl.create_default_context() if self._tls else None
            reader, writer = await asyncio.wait_for(
                self._egress.open_connection(self._host, self._port, ssl=tls), self.timeout)
            try:
                response = await asyncio.wait_for(
                    self._send(writer, reader, self._path, []), self.timeout)
            finally:
                writer.close()
        except EgressRefused as exc:
            self.direct_problem = f"egress guard refused {exc.message}"
            return self.direct_problem
        except (OSError, TimeoutError, GarbageResponse, DroppedResponse) as exc:
            self.direct_problem = _classify(exc)[1]
            return self.direct_problem
        self.client_ip = _echo(response)[0]
        self.client_country = exit_country_of(response)
        if response.status >= 400:
            self.direct_problem = f"answered HTTP {response.status}"
        return self.direct_problem

    async def check_many(self, endpoints: Sequence[ProxyEndpoint],
                         progress: Progress | None = None,
                         on_result: OnResult | None = None) -> dict[str, HealthReport]:
        """Check every endpoint, at most ``concurrency`` at a time.

        ``on_result(id, report)`` is called as each check finishes, so callers can record
        results while the other checks are still running.
        """
        if not endpoints:
            return {}
        if not self.probed:
            await self.probe()
        gate = asyncio.Semaphore(self.concurrency)
        done = 0
        results: dict[str, HealthReport] = {}

        async def one(endpoint: ProxyEndpoint) -> None:
            nonlocal done
            async with gate:
                results[endpoint.id] = await self.check(endpoint)
            if on_result is not None:
                on_result(endpoint.id, results[endpoint.id])
            done += 1
            if progress is not None:
                progress(done, len(endpoints))

        await asyncio.gather(*(one(e) for e in endpoints))
        return results

    async def check(self, endpoint: ProxyEndpoint) -> HealthReport:
        """``samples`` sequential fetches; the first failure ends the check."""
        latencies: list[float] = []
        response: HttpResponse | None = None
        try:
            for _ in range(self.samples):
                start = time.perf_counter()
                async with asyncio.timeout(self.timeout):  # no extra task, unlike wait_for
                    response = await self._fetch(endpoint)
                _raise_for_status(response, endpoint)
                latencies.append((time.perf_counter() - start) * 1000)
        except _CheckFailed as exc:
            return HealthReport(ok=False, failure=exc.failure, message=exc.message,
                                http_status=exc.status, samples=len(latencies))
        except Exception as exc:  # classified below; anything unknown is a proxy error
            failure, message = _classify(exc)
            return HealthReport(ok=False, failure=failure, message=message,
                                samples=len(latencies))
        assert response is not None
        exit_ip, anonymity = self._anonymity(response)
        return HealthReport(ok=True, latency_ms=round(statistics.median(latencies), 2),
                            samples=len(latencies), http_status=response.status,
                            exit_ip=exit_ip, anonymity=anonymity,
                            exit_country=exit_country_of(response))

    async def _fetch(self, endpoint: ProxyEndpoint) -> HttpResponse:
        if endpoint.protocol in ("http", "https"):
            return await self._via_http_proxy(endpoint)
        return await self._via_socks(endpoint)

    async def _via_http_proxy(self, endpoint: ProxyEndpoint) -> HttpResponse:
        """A plain check URL is asked of the proxy in absolute form; an https one through a
        CONNECT tunnel, TLS end to end (the proxy sees only the host name)."""
        tls = ssl.create_default_context() if endpoint.protocol == "https" else None
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=tls)
        extra = []
        if endpoint.username is not None:
            token = f"{endpoint.username}:{endpoint.password or ''}".encode()
            extra.append(("Proxy-Authorization", "Basic " + base64.b64encode(token).decode()))
        try:
            if self._tls:
                await self._connect_tunnel(writer, reader, extra)
                await writer.start_tls(ssl.create_default_context(),
                                       server_hostname=self._host)
                return await self._send(writer, reader, self._path, [])
            return await self._send(writer, reader,
                                    f"http://{host_port(self._host, self._port)}{self._path}",
                                    extra)
        finally:
            writer.close()

    async def _connect_tunnel(self, writer: asyncio.StreamWriter,
                              reader: asyncio.StreamReader,
                              extra: list[tuple[str, str]]) -> None:
        """``CONNECT host:port`` through an HTTP proxy; its refusal is the proxy's failure
        (407: the credentials)."""
        authority = host_port(self._host, self._port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}",
                 *(f"{name}: {value}" for name, value in extra)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        try:
            status_line = await reader.readuntil(b"\r\n")
            for _ in range(100):  # the answer's headers, up to the blank line
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    break
            else:
                raise GarbageResponse("the proxy's answer to CONNECT has no end")
        except asyncio.IncompleteReadError:
            raise DroppedResponse("the proxy hung up on CONNECT") from None
        except asyncio.LimitOverrunError:
            raise GarbageResponse("the proxy's answer to CONNECT is too long") from None
        parts = status_line.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise GarbageResponse("the proxy answered CONNECT with something that is not HTTP")
        status = int(parts[1])
        if status == 407:
            raise _CheckFailed(Failure.AUTH, "proxy authentication required (407)", 407)
        if status == 401 and extra:  # tinyproxy refuses wrong credentials with 401
            raise _CheckFailed(Failure.AUTH, "proxy refused the credentials (401)", 401)
        if not 200 <= status < 300:
            hint = "; many proxies tunnel only to port 443" if self._port != 443 else ""
            raise _CheckFailed(Failure.PROXY_ERROR, f"the proxy refused CONNECT to "
                               f"{authority} (HTTP {status}{hint})", status)

    async def _via_socks(self, endpoint: ProxyEndpoint) -> HttpResponse:
        kind = ProxyType.SOCKS5 if endpoint.protocol == "socks5" else ProxyType.SOCKS4
        proxy = SocksProxy(kind, endpoint.host, endpoint.port, endpoint.username,
                           endpoint.password, rdns=True)
        try:
            stream = await proxy.connect(self._host, self._port, timeout=self.timeout,
                                         dest_ssl=ssl.create_default_context() if self._tls
                                         else None)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError,
                ProxyError) as exc:
            # python-socks reports a proxy that closed mid-handshake as a ProxyError caused
            # by its own IncompleteReadError; a close seen as a reset, or later, comes as
            # the others: all of them are the proxy hanging up, whichever the timing
            if isinstance(exc, ProxyError) and not _hung_up(exc):
                raise
            hint = " (wrong credentials are a common cause)" if endpoint.username else ""
            raise DroppedResponse(f"the proxy hung up during the SOCKS handshake{hint}: "
                                  f"{type(exc).__name__}") from None
        try:
            return await exchange(stream.write, stream.read, "GET", self._path,
                                  self._headers([]))
        finally:
            await stream.close()

    async def _send(self, writer: asyncio.StreamWriter, reader: asyncio.StreamReader,
                    target: str, extra: list[tuple[str, str]]) -> HttpResponse:
        async def write(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        async def read() -> bytes:
            return await reader.read(65536)

        return await exchange(write, read, "GET", target, self._headers(extra))

    def _headers(self, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
        host = host_port(self._host, self._port)
        if self._port in (80, 443):
            host = host.rsplit(":", 1)[0]
        return [("Host", host), ("User-Agent", "vipb-proxy-check/1"),
                ("Accept", "application/json, */*"), ("Connection", "close"), *extra]

    def _anonymity(self, response: HttpResponse) -> tuple[str | None, Anonymity]:
        exit_ip, headers = _echo(response)
        if headers is None:
            return exit_ip, Anonymity.UNKNOWN
        seen = {k.lower(): str(v) for k, v in headers.items()}
        forwarded = [seen[h] for h in FORWARDING_HEADERS if h in seen]
        if self.client_ip and any(self.client_ip in value for value in forwarded):
            return exit_ip, Anonymity.TRANSPARENT
        return exit_ip, Anonymity.ANONYMOUS if forwarded else Anonymity.ELITE


_COUNTRY_KEYS = ("country_code", "countryCode", "country")  # ipinfo, ip-api, ipapi.co ...


def exit_country_of(response: HttpResponse) -> str | None:
    """The exit country a check URL names in its JSON answer (``"country": "DE"``, as
    ipinfo.io, ip-api.com, ipapi.co and similar services answer), upper-cased; None when
    it names none (httpbin) or something that is not a two-letter code."""
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    for key in _COUNTRY_KEYS:
        value = data.get(key)
        if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
            return value.upper()
    return None


def _echo(response: HttpResponse) -> tuple[str | None, dict[str, Any] | None]:
    """``origin`` and ``headers`` from an httpbin-style JSON echo, when the body is one."""
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    origin = data.get("origin")
    headers = data.get("headers")
    return (str(origin).split(",")[0].strip() if origin else None,
            headers if isinstance(headers, dict) else None)


def _raise_for_status(response: HttpResponse, endpoint: ProxyEndpoint) -> None:
    if response.status == 407:
        raise _CheckFailed(Failure.AUTH, "proxy authentication required (407)", 407)
    if (response.status == 401 and endpoint.username is not None
            and endpoint.protocol in ("http", "https")):
        # tinyproxy and a few others refuse wrong proxy credentials with 401, not 407
        raise _CheckFailed(Failure.AUTH, "proxy refused the credentials (401)", 401)
    if response.status >= 400:
        raise _CheckFailed(Failure.BAD_STATUS, f"answered HTTP {response.status}",
                           response.status)


def _hung_up(exc: ProxyError) -> bool:
    """A python-socks error that is the proxy closing the connection mid-handshake."""
    return type(exc.__cause__).__name__ == "IncompleteReadError" \
        and type(exc.__cause__).__module__.startswith("python_socks")


def _classify(exc: BaseException) -> tuple[Failure, str]:
    if isinstance(exc, TimeoutError | ProxyTimeoutError):
        return Failure.TIMEOUT, "no complete answer in time"
    if isinstance(exc, GarbageResponse):
        return Failure.GARBAGE, str(exc)
    if isinstance(exc, DroppedResponse):
        return Failure.DROPPED, str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return Failure.REFUSED, "connection refused"
    if isinstance(exc, ProxyConnectionError):
        refused = "refused" in str(exc).lower() or "errno 111" in str(exc).lower()
        return (Failure.REFUSED if refused else Failure.PROXY_ERROR,
                f"could not connect to the proxy ({exc})")
    if isinstance(exc, ProxyError):
        text = str(exc)
        if "authentication" in text.lower():
            return Failure.AUTH, text
        return Failure.PROXY_ERROR, text
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return Failure.DROPPED, f"connection reset ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return Failure.REFUSED, f"{type(exc).__name__}: {exc.strerror or exc}"
    return Failure.PROXY_ERROR, f"{type(exc).__name__}: {exc}"


