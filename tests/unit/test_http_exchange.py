"""The check's HTTP exchange over a scripted byte stream: every ending is classified."""

from __future__ import annotations

import asyncio

import pytest

from adapters.proxycheck._http import DroppedResponse, GarbageResponse, exchange


def run(chunks: list[bytes]):  # type: ignore[no-untyped-def]
    sent: list[bytes] = []
    feed = iter([*chunks, b""])

    async def write(data: bytes) -> None:
        sent.append(data)

    async def read() -> bytes:
        return next(feed, b"")

    response = asyncio.run(exchange(write, read, "GET", "http://h/x", [("Host", "h")]))
    assert sent == [b"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n"]
    return response


def test_complete_response_in_pieces() -> None:
    response = run([b"HTTP/1.1 200 OK\r\nContent-Len", b"gth: 4\r\nX-A: b\r\n\r\nab", b"cd"])
    assert (response.status, response.headers["x-a"], response.body) == (200, "b", b"abcd")


def test_chunked_response() -> None:
    response = run([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"])
    assert response.body == b"ok"


def test_body_ending_with_the_connection() -> None:
    response = run([b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil close"])
    assert response.body == b"until close"


@pytest.mark.parametrize(
    ("chunks", "error"),
    [
        ([], DroppedResponse),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"], DroppedResponse),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"], DroppedResponse),
        ([b"HTTP/1.1 200 OK\r\nServ"], DroppedResponse),
        ([b"SSH-2.0-OpenSSH_9.2\r\n"], GarbageResponse),
        ([b"\x00\xff\xfe binary"], GarbageResponse),
    ],
)
def test_endings(chunks: list[bytes], error: type[Exception]) -> None:
    with pytest.raises(error):
        run(chunks)


def test_endless_headers_are_refused_not_gathered() -> None:
    """Issue 31, point 4: what the HTTP readers accept is capped, headers too (a receiver
    or a check URL answering 10 MB of headers)."""
    header = b"X-Pad: " + b"a" * 8000 + b"\r\n"
    with pytest.raises(GarbageResponse, match="headers larger than 65536 bytes"):
        run([b"HTTP/1.1 200 OK\r\n", *[header] * 1000])
