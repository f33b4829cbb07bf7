"""A minimal HTTP/1.1 exchange over an already-open byte stream, parsed with h11.

We drive the bytes ourselves (rather than an HTTP client library) because a health check must
tell apart a refused connection, a 407, a stall, a non-HTTP answer and a connection dropped
mid-body; h11 does the parsing so that no HTTP parsing is hand-written here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h11

MAX_BODY = 1 << 20


class GarbageResponse(Exception):
    """The peer answered with something that is not HTTP/1.x."""


class DroppedResponse(Exception):
    """The connection ended before the response was complete."""


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and body of one response."""

    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(
    write: Callable[[bytes], Awaitable[None]],
    read: Callable[[], Awaitable[bytes]],
    method: str,
    target: str,
    headers: list[tuple[str, str]],
) -> HttpResponse:
    """Send one request and read its whole response."""
    conn = h11.Connection(our_role=h11.CLIENT)
    request = h11.Request(method=method, target=target, headers=headers)
    await write(conn.send(request) + conn.send(h11.EndOfMessage()))
    status, response_headers, body, received = 0, {}, bytearray(), 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            if status:
                raise DroppedResponse(f"connection broke mid-response ({exc})") from None
            if not received:
                raise DroppedResponse("closed the connection without answering") from None
            raise GarbageResponse(f"not an HTTP response ({exc})") from None
        if event is h11.NEED_DATA:
            data = await read()
            received += len(data)
            conn.receive_data(data)  # b"" tells h11 the peer closed
        elif isinstance(event, h11.Response):
            status = event.status_code
            response_headers = {k.decode().lower(): v.decode("latin-1")
                                for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise GarbageResponse("response body too large for a check")
        elif isinstance(event, h11.EndOfMessage):
            return HttpResponse(status, response_headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            raise DroppedResponse("connection closed mid-response")
