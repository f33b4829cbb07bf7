"""Helpers for browser tests: call channels and unwrap the reply envelope."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from actors.runtime import Runtime


def call(rt: Runtime, channel: str, **payload: Any) -> Any:
    """Dispatch and return ``data``; fail the test with the error otherwise."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert reply["success"], f"{channel} failed: {reply.get('error')}"
    return reply["data"]


def refuse(rt: Runtime, channel: str, **payload: Any) -> str:
    """Dispatch expecting a refusal; return its error line."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert not reply["success"], f"{channel} unexpectedly succeeded: {reply.get('data')}"
    error: str = reply["error"]
    return error


def evaluate(rt: Runtime, tab_id: str, expression: str) -> Any:
    """Evaluate JavaScript in a tab's page."""
    return rt.tabs().tab(tab_id).get().evaluate(expression).get()


FRAME_PROBE = "document.getElementById('frame').contentWindow.frameProbe"


def png_pixels(data: str) -> list[list[tuple[int, int, int, int]]]:
    """Rows of RGBA pixels of a base64 PNG as Chromium writes canvases (8-bit RGBA, not
    interlaced): read here, outside the page, where no guard touches what is read."""
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) == (8, 6, 0), "expected 8-bit RGBA, not interlaced"
    stream, stride, rows = zlib.decompress(b"".join(chunks)), width * 4, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = stream[y * (stride + 1)], bytearray(stream[y * (stride + 1) + 1:
                                                               (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 4] if i >= 4 else 0
            up, corner = previous[i], previous[i - 4] if i >= 4 else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 255
        rows.append([(line[x], line[x + 1], line[x + 2], line[x + 3])
                     for x in range(0, stride, 4)])
        previous = line
    return rows
