"""The control socket's wire format: one JSON object per line each way.

Request: ``{"channel": "proxy:add", "payload": {...}, "id": 7}`` (``id`` optional, echoed;
``"progress": true`` asks a long command, e.g. ``proxy:validate``, to send
``{"progress": {"done": 12, "total": 50}}`` lines before its reply).
Reply: the envelope of docs/design.md, ``{"success": true, "data": ...}`` or ``{"success": false,
"error": "one line", "code": "validation_error", "retryAfter": 12.5, "details": {...}}``
(``code`` names the error class, ``retryAfter`` only for rate limits, ``details`` what the
error carries, e.g. ``field`` or ``proxy_id``), plus the request's ``id`` if it had one.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import ValidationError
from domain.parsing import parse_command

MAX_MESSAGE_BYTES = 256 * 1024  # a request line longer than this is refused unread


class Request(BaseModel):
    """One request envelope."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    channel: str = Field(pattern=r"^[a-z]{1,20}:[a-z][a-z-]{0,40}$")
    payload: dict[str, Any] = Field(default_factory=dict)
    id: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | Annotated[str, Field(
        max_length=64)] | None = Field(default=None, union_mode="left_to_right")
    progress: bool = False


def parse_request(line: bytes) -> Request:
    """Decode one line into a ``Request`` or raise a one-line ``ValidationError``."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ValidationError(f"message larger than {MAX_MESSAGE_BYTES} bytes", field="message")
    try:
        # orjson, not json: it stops at a nesting depth of 1024 with an error instead of
        # recursing until Python's RecursionError, and parses at C speed
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).split(":")[0]
        raise ValidationError(f"not valid JSON ({reason})", field="message") from None
    return parse_command(Request, data)


def encode(message: dict[str, Any]) -> bytes:
    """One reply (or streamed event) as a JSON line."""
    return orjson.dumps(message, default=str) + b"\n"


def error_reply(message: str, code: str = "validation_error",
                request_id: int | str | None = None) -> dict[str, Any]:
    """A failure envelope."""
    reply: dict[str, Any] = {"success": False, "error": message, "code": code}
    if request_id is not None:
        reply["id"] = request_id
    return reply
