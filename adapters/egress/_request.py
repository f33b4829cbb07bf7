"""One HTTP(S) request on vipb's own behalf, through the egress guard: the filter-list fetch
and alert webhooks use it (the connection goes only to an address the policy allows, TLS
verifies the certificate for the URL's host)."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from adapters.egress._guard import EgressGuard
from adapters.proxycheck._http import HttpResponse, exchange
from domain.endpoints import host_port


async def guarded_request(guard: EgressGuard, method: str, url: str,
                          headers: list[tuple[str, str]], body: bytes = b"",
                          timeout: float = 30.0, max_body: int = 1 << 20,
                          context: ssl.SSLContext | None = None,
                          deadline: float | None = None) -> HttpResponse:
    """Send ``method url`` with ``headers`` (Host, Content-Length and Connection are added)
    and ``body``; the whole response, its body up to ``max_body``. Raises ``EgressRefused``,
    ``OSError``/``TimeoutError`` (connecting or a stall of ``timeout`` seconds, or the whole
    exchange past ``deadline`` seconds: a peer trickling bytes resets no clock), and the
    HTTP reader's ``GarbageResponse``/``BodyTooLarge``/``DroppedResponse``; ``ValueError``
    for a URL that is not http(s)."""
    async with asyncio.timeout(deadline):
        return await _request(guard, method, url, headers, body, timeout, max_body, context)


async def _request(guard: EgressGuard, method: str, url: str, headers: list[tuple[str, str]],
                   body: bytes, timeout: float, max_body: int,
                   context: ssl.SSLContext | None) -> HttpResponse:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    secure = parts.scheme == "https"
    reader, writer = await asyncio.wait_for(guard.open_connection(
        parts.hostname, parts.port or (443 if secure else 80),
        ssl=(context or ssl.create_default_context()) if secure else None), timeout)

    async def read() -> bytes:
        chunk: bytes = await asyncio.wait_for(reader.read(65536), timeout)
        return chunk

    async def write(data: bytes) -> None:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), timeout)

    host = host_port(parts.hostname, parts.port) if parts.port else parts.hostname
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = [("Host", host), *headers, ("Connection", "close")]
    if body or method not in ("GET", "HEAD"):
        sent.append(("Content-Length", str(len(body))))
    try:
        return await exchange(write, read, method, target, sent, max_body=max_body,
                              body=body)
    finally:
        writer.close()
