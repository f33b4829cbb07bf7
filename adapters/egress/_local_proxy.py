"""A per-tab HTTP proxy on 127.0.0.1 that Chromium is pointed at.

Two jobs, one listener: for tabs without a proxy it is the egress guard (every request,
redirect and sub-resource arrives here, and ``EgressGuard`` decides on the address actually
connected to); for SOCKS proxies with credentials, which Chromium cannot authenticate to, it
forwards through the upstream with its credentials (python-socks, names resolved remotely).

Only the tab may use it. Each instance has a random credential that only its tab's session
knows (Chromium answers the 407 challenge through the tab's CDP session), and a connection is
served only when the peer socket, found by its full 4-tuple in ``/proc/net/tcp``, belongs to
our own uid: binding 127.0.0.2 on the proxy's port does not make another user's socket look
like ours.

Hand-written rather than pproxy: pproxy passes credentials inside a URI fragment (breaks on
':' in user names) and remembers an authenticated client IP for 30 days by default.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import os
import secrets
import socket
import struct
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from python_socks import ProxyType
from python_socks.async_.asyncio import Proxy

from domain.endpoints import host_port

from ._guard import EgressGuard, EgressRefused

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
EGRESS_HEADER = "X-Vipb-Egress"  # on responses the proxy wrote itself
_HOP_BY_HOP = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
_SOCKS = {"socks5": ProxyType.SOCKS5, "socks4": ProxyType.SOCKS4, "http": ProxyType.HTTP}

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Upstream = Callable[[str, int], Awaitable[Streams]]


def direct(guard: EgressGuard) -> Upstream:
    """Connect directly, through the egress guard."""
    return guard.open_connection


def via_proxy(protocol: str, host: str, port: int, username: str | None,
              password: str | None, timeout: float = 30.0) -> Upstream:
    """Connect through an upstream proxy with its credentials (names resolved there)."""

    async def connect(target: str, target_port: int) -> Streams:
        proxy = Proxy(_SOCKS[protocol], host, port, username, password, rdns=True)
        sock = await proxy.connect(target, target_port, timeout=timeout)
        return await asyncio.open_connection(sock=sock)

    return connect


def _proc_address(text: str) -> tuple[str, int]:
    """An ``ADDR:PORT`` field of /proc/net/tcp{,6} (hex, host byte order per 32-bit word)."""
    addr_hex, port_hex = text.split(":")
    words = [int(addr_hex[i:i + 8], 16) for i in range(0, len(addr_hex), 8)]
    raw = b"".join(struct.pack("=I", w) for w in words)
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw), int(port_hex, 16)


def socket_owner(local: tuple[str, int], remote: tuple[str, int]) -> int | None:
    """The uid owning the TCP socket whose own end is ``local`` and whose peer is ``remote``
    (a connection to us: ``local`` is the client's address, ``remote`` ours), or None."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if _proc_address(fields[1]) == local and _proc_address(fields[2]) == remote:
                        return int(fields[7])
        except (OSError, ValueError, IndexError):
            continue
    return None


class LocalProxy:
    """One loopback HTTP proxy for one tab; ``username``/``password`` are its credential."""

    def __init__(self, upstream: Upstream, label: str = "tab") -> None:
        self._upstream = upstream
        self._label = label
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.username = "vipb-" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(24)
        self._token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        self.port = 0
        self.refused: list[str] = []  # what the egress guard refused (last 100)
        self.refusals = 0  # how many times, in all
        self._refusal_seen: asyncio.Condition | None = None

    @property
    def server(self) -> str:
        """The proxy as a Chromium proxy server string."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> LocalProxy:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                  limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _seen(self) -> asyncio.Condition:
        if self._refusal_seen is None:
            self._refusal_seen = asyncio.Condition()
        return self._refusal_seen

    async def wait_refusals(self, count: int, timeout: float = 60.0) -> list[str]:
        """Wait until the guard has refused ``count`` connections in all (or the timeout);
        returns what it refused."""
        condition = self._seen()
        with contextlib.suppress(TimeoutError):
            async with condition:
                await asyncio.wait_for(condition.wait_for(lambda: self.refusals >= count),
                                       timeout)
        return list(self.refused)

    async def close(self) -> None:
        """Stop listening and cut open tunnels."""
        if self._server is not None:
            self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            # their connections are closed before this returns (not by a loop stopping)
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                asyncio.CancelledError, TimeoutError):
            pass
        except Exception as exc:
            log.debug("local proxy connection failed: %s", exc)
        finally:
            self._tasks.discard(task)
            writer.close()

    def _same_user(self, writer: asyncio.StreamWriter) -> bool:
        peer = writer.get_extra_info("peername")
        ours = writer.get_extra_info("sockname")
        return socket_owner((peer[0], peer[1]), (ours[0], ours[1])) == os.getuid()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._same_user(writer):
            log.warning("local proxy refused a connection from another user's socket")
            return
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = [*lines[0].split(" "), "", ""][:3]
        headers = [tuple(x.split(":", 1)) for x in lines[1:] if ":" in x]
        if not self._authorized(headers):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b'Proxy-Authenticate: Basic realm="vipb"\r\n'
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if method == "CONNECT":
            await self._connect(reader, writer, target)
        else:
            await self._forward(reader, writer, method, target, headers)

    def _authorized(self, headers: list[tuple[str, ...]]) -> bool:
        for name, value in headers:
            if name.strip().lower() == "proxy-authorization":
                scheme, _, token = value.strip().partition(" ")
                return scheme.lower() == "basic" and hmac.compare_digest(
                    token.strip().encode(), self._token.encode())
        return False

    async def _open(self, writer: asyncio.StreamWriter, host: str, port: int
                    ) -> Streams | None:
        """Connect upstream, or answer the tab with why not (and return None)."""
        try:
            return await self._upstream(host, port)
        except EgressRefused as exc:
            self.refused = [*self.refused[-99:], exc.message]
            self.refusals += 1
            async with self._seen():
                self._seen().notify_all()
            log.warning("egress guard refused %s for a %s", exc.message, self._label)
            body = f"vipb egress guard: {exc.message}\n".encode()
            writer.write(b"HTTP/1.1 403 Forbidden\r\n" + f"{EGRESS_HEADER}: refused\r\n"
                         .encode() + b"Content-Type: text/plain; charset=utf-8\r\n"
                         + f"Content-Length: {len(body)}\r\n".encode()
                         + b"Connection: close\r\n\r\n" + body)
        except Exception as exc:
            log.info("local proxy could not reach %s: %s", host_port(host, port), exc)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
        return None

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       target: str) -> None:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        upstream = await self._open(writer, host, int(port_text))
        if upstream is None:
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await _splice(reader, writer, *upstream)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       method: str, target: str, headers: list[tuple[str, ...]]) -> None:
        """A plain http:// request in absolute form: one request per connection. The request
        body streams upstream while the response is awaited (a server may answer before it
        has read it all, and a large body never fits in a buffer); interim 1xx responses
        (``100 Continue``) reach the client as they come."""
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        try:
            framing = body_framing(headers)
        except ValueError as exc:
            log.info("local proxy refused a request: %s", exc)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            return
        upstream = await self._open(writer, parts.hostname, parts.port or 80)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [f"{h[0]}:{h[1]}" for h in headers if h[0].strip().lower() not in _HOP_BY_HOP]
        up_writer.write("\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close",
                                     "", ""]).encode("latin-1"))
        body = asyncio.ensure_future(_send_body_or_cut(reader, up_writer, framing))
        try:
            status = await self._relay_response_head(writer, up_reader)
            if status is None:
                return
            if status == 101:  # switched protocols: both ways from here on
                await _splice(reader, writer, up_reader, up_writer)
            else:
                await _pipe(up_reader, writer)
        finally:
            body.cancel()  # a no-op when sent; the server may answer before it has it all
            await asyncio.gather(body, return_exceptions=True)
            up_writer.close()

    @staticmethod
    async def _relay_response_head(writer: asyncio.StreamWriter,
                                   up_reader: asyncio.StreamReader) -> int | None:
        """Pass interim responses on as they are and the final head with ``Connection:
        close``; its status, or None (502 written) when upstream sent no valid head."""
        while True:
            try:
                head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), 120)
                status_line, *rest = head.decode("latin-1").split("\r\n")
                status = int(status_line.split(" ", 2)[1])
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                    IndexError, ValueError):
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return None
            if 100 <= status < 200 and status != 101:
                writer.write(head)
                await writer.drain()
                continue
            rest = [x for x in rest
                    if x and x.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP]
            writer.write("\r\n".join([status_line, *rest, "Connection: close", "", ""])
                         .encode("latin-1"))
            return status


Framing = int | None  # a request body's length, or None for chunked


def body_framing(headers: list[tuple[str, ...]]) -> Framing:
    """How a request's body ends: its ``Content-Length`` (0 without one), or None when it
    is chunked. A request that frames its body two ways, or with a length that is not one
    number, is refused (ValueError): a server reading it another way would take the rest
    as a second request."""
    lengths = {h[1].strip() for h in headers if h[0].strip().lower() == "content-length"}
    codings = [c.strip().lower() for h in headers if h[0].strip().lower() == "transfer-encoding"
               for c in h[1].split(",")]
    if codings:
        if lengths:
            raise ValueError("both Content-Length and Transfer-Encoding")
        if codings[-1] != "chunked":
            raise ValueError(f"unsupported Transfer-Encoding {codings[-1]!r}")
        return None
    if not lengths:
        return 0
    (length,) = lengths if len(lengths) == 1 else ("",)
    if not (length.isascii() and length.isdigit()):
        raise ValueError("an invalid Content-Length")
    return int(length)


_PIECE = 65536


async def _send_body(reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                     framing: Framing) -> None:
    """Copy one request body upstream as it arrives, exactly as framed (nothing after it:
    the connection serves one request)."""
    if framing is None:
        while True:
            line = await reader.readuntil(b"\r\n")  # chunk size [; extensions]
            up_writer.write(line)
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            if size < 0:
                raise ValueError(f"a negative chunk size {line!r}")
            if size == 0:  # trailers, then the empty line
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    up_writer.write(trailer)
                up_writer.write(b"\r\n")
                await up_writer.drain()
                return
            await _copy_exactly(reader, up_writer, size + 2)  # the data and its CRLF
    else:
        await _copy_exactly(reader, up_writer, framing)


async def _send_body_or_cut(reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                            framing: Framing) -> None:
    """``_send_body``; a body that breaks off or is not valid chunked data cuts the upstream
    connection (the server must not wait for the rest, nor read garbage as a request)."""
    try:
        await _send_body(reader, up_writer, framing)
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        up_writer.close()


async def _copy_exactly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        size: int) -> None:
    while size > 0:
        data = await reader.read(min(size, _PIECE))
        if not data:
            raise asyncio.IncompleteReadError(b"", size)
        size -= len(data)
        writer.write(data)
        await writer.drain()


async def _splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.write_eof()
