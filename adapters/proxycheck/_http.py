"""A minimal HTTP/1.1 exchange over an already-open byte stream, parsed with httptools.

We drive the bytes ourselves (rather than an HTTP client library) because a health check must
tell apart a refused connection, a 407, a stall, a non-HTTP answer and a connection dropped
mid-body. httptools (llhttp, the parser behind Node.js and uvicorn) does the parsing in C,
so no HTTP parsing is hand-written here and a check costs little CPU.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httptools

MAX_BODY = 1 << 20
MAX_HEADERS = 64 * 1024  # bytes of response headers read (servers allow 8-16 KiB)


class GarbageResponse(Exception):
    """The peer answered with something that is not HTTP/1.x."""


class BodyTooLarge(GarbageResponse):
    """The body went past the limit the caller set."""


class DroppedResponse(Exception):
    """The connection ended before the response was complete."""


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and body of one response."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Collector:
    """httptools callbacks: gather headers and body, note completion."""

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.body = bytearray()
        self.headers_done = False
        self.complete = False
        self.max_body = max_body
        self.too_large = False

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADERS:
            raise GarbageResponse(f"response headers larger than {MAX_HEADERS} bytes")
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > self.max_body:
            self.too_large = True
            raise BodyTooLarge(f"response body larger than {self.max_body} bytes")

    def on_message_complete(self) -> None:
        self.complete = True


def _request(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def exchange(
    write: Callable[[bytes], Awaitable[None]],
    read: Callable[[], Awaitable[bytes]],
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    max_body: int = MAX_BODY,
    body: bytes = b"",
) -> HttpResponse:
    """Send one request (``body`` after the head: the caller names its length) and read its
    whole response (a body over ``max_body`` bytes: ``BodyTooLarge``)."""
    await write(_request(method, target, headers) + body)
    collector = _Collector(max_body)
    parser = httptools.HttpResponseParser(collector)
    received = 0
    while not collector.complete:
        data = await read()
        if not data:
            return _at_eof(parser, collector, received)
        received += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise GarbageResponse("unexpected protocol upgrade") from None
        except httptools.HttpParserError as exc:
            if collector.too_large:
                raise BodyTooLarge(f"response body larger than {max_body} bytes") from None
            if collector.header_bytes > MAX_HEADERS:
                raise GarbageResponse(f"response headers larger than {MAX_HEADERS} "
                                      "bytes") from None
            raise GarbageResponse(f"not an HTTP response ({exc})") from None
    return HttpResponse(parser.get_status_code(), collector.headers, bytes(collector.body))


def _at_eof(parser: httptools.HttpResponseParser, collector: _Collector,
            received: int) -> HttpResponse:
    """The peer closed before the parser saw the end of the message."""
    if not received:
        raise DroppedResponse("closed the connection without answering")
    if not collector.headers_done:
        raise DroppedResponse("closed in the middle of the status line or headers")
    status = parser.get_status_code()
    delimited = ("content-length" in collector.headers
                 or "chunked" in collector.headers.get("transfer-encoding", "").lower())
    if delimited:
        raise DroppedResponse("connection closed mid-response")
    # No length and not chunked: HTTP/1.0 style, the body ends with the connection.
    return HttpResponse(status, collector.headers, bytes(collector.body))
