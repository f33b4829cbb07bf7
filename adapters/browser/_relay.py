"""A local SOCKS5 relay for upstream proxies Chromium cannot authenticate to.

Chromium refuses SOCKS proxies with credentials. The relay listens on 127.0.0.1 (random
port) as a SOCKS5 proxy without authentication and forwards every CONNECT through the
upstream proxy with its credentials (python-socks), resolving names remotely. Since a
no-auth listener on loopback could be used by any local account, a connection is accepted
only from a socket owned by our own user (Linux: the peer's row in /proc/net/tcp).

Hand-written rather than pproxy: pproxy passes credentials inside a URI fragment (breaks on
':' in user names) and remembers an authenticated client IP for 30 days by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct

from python_socks import ProxyType
from python_socks.async_.asyncio import Proxy

from domain.endpoints import host_port

log = logging.getLogger(__name__)

_TYPES = {"socks5": ProxyType.SOCKS5, "socks4": ProxyType.SOCKS4, "http": ProxyType.HTTP}


def _peer_uid(peer_port: int) -> int | None:
    """The uid owning the local TCP socket bound to ``peer_port`` (None if not found)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == peer_port:
                        return int(fields[7])
        except OSError:
            continue
    return None


class SocksRelay:
    """One listener forwarding to one upstream proxy; ``url`` is what Chromium is given."""

    def __init__(self, protocol: str, host: str, port: int, username: str | None,
                 password: str | None, connect_timeout: float = 30.0) -> None:
        self._upstream = (_TYPES[protocol], host, port, username, password)
        self._timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The relay as a Chromium proxy server string."""
        return f"socks5://127.0.0.1:{self.port}"

    async def start(self) -> SocksRelay:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and cut open tunnels."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:
            log.debug("relay connection failed: %s", exc)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_port = writer.get_extra_info("peername")[1]
        if _peer_uid(peer_port) != os.getuid():
            log.warning("relay refused a connection from another user's socket")
            return
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5 or 0 not in methods:
            writer.write(b"\x05\xff")
            return
        writer.write(b"\x05\x00")
        _, cmd, _, atyp = await reader.readexactly(4)
        host = await self._read_address(reader, atyp)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if cmd != 1:  # CONNECT only
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            return
        kind, up_host, up_port, user, password = self._upstream
        proxy = Proxy(kind, up_host, up_port, user, password, rdns=True)
        try:
            sock = await proxy.connect(host, port, timeout=self._timeout)
        except Exception as exc:
            log.info("relay upstream %s refused %s: %s", host_port(up_host, up_port),
                     host_port(host, port), exc)
            writer.write(b"\x05\x05\x00\x01" + bytes(6))
            return
        writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
        up_reader, up_writer = await asyncio.open_connection(sock=sock)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    @staticmethod
    async def _read_address(reader: asyncio.StreamReader, atyp: int) -> str:
        if atyp == 1:
            return str(ipaddress.IPv4Address(await reader.readexactly(4)))
        if atyp == 4:
            return str(ipaddress.IPv6Address(await reader.readexactly(16)))
        if atyp == 3:
            (length,) = await reader.readexactly(1)
            return (await reader.readexactly(length)).decode("idna")
        raise ConnectionError(f"unknown SOCKS address type {atyp}")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.write_eof()
