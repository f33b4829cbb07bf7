"""Parse proxy lines as users paste them: URLs, ``host:port`` and ``host:port:user:pass``.

Returns the raw fields for an ``AddProxy``; validation of each field is the command's job.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

SCHEMES = ("http", "https", "socks4", "socks5")
MAX_LINE_CHARS = 2048  # a proxy line longer than this is not a proxy line


def screen_lines(raw: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """Split an import file into lines a command can carry, and the line errors found here.

    A line that is not UTF-8 or longer than ``MAX_LINE_CHARS`` becomes an empty line (which
    imports nothing, so the numbering of the rest is kept) and an error for that line: one
    bad line never aborts the import of the others.
    """
    lines: list[str] = []
    errors: list[dict[str, Any]] = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            line = chunk.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError as exc:
            errors.append({"line": number, "error": f"is not UTF-8 text (byte {exc.start + 1})"})
            line = ""
        if len(line) > MAX_LINE_CHARS:
            errors.append({"line": number, "error": f"is longer than {MAX_LINE_CHARS} characters"})
            line = ""
        lines.append(line)
    if lines and lines[-1] == "" and raw.endswith(b"\n"):
        lines.pop()  # the file's final newline
    return lines, errors


def parse_proxy_line(line: str, default_protocol: str = "http") -> dict[str, Any]:
    """Split one proxy line into fields; raise ValueError with a reason when it has no shape."""
    text = line.strip()
    if not text:
        raise ValueError("empty line")
    if "://" in text:
        return _parse_url(text)
    return _parse_colon_form(text, default_protocol)


def _parse_url(text: str) -> dict[str, Any]:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "socks5h":
        scheme = "socks5"
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {parts.scheme!r} (use {', '.join(SCHEMES)})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL has no path, query or fragment")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port ({exc})") from None
    if not parts.hostname or port is None:
        raise ValueError("a proxy URL needs host and port, e.g. socks5://user:pass@host:1080")
    fields: dict[str, Any] = {"protocol": scheme, "host": parts.hostname, "port": port}
    if parts.username is not None:
        fields["username"] = unquote(parts.username)
    if parts.password is not None:
        fields["password"] = unquote(parts.password)
    return fields


def _parse_colon_form(text: str, protocol: str) -> dict[str, Any]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]:")
        if not sep:
            raise ValueError("IPv6 hosts are written [addr]:port")
        items = [host, *rest.split(":", 2)]
    else:
        items = text.split(":", 3)
    if len(items) not in (2, 4):
        raise ValueError("expected host:port or host:port:user:pass")
    if not items[1].isdigit():
        raise ValueError(f"port {items[1]!r} is not a number")
    fields: dict[str, Any] = {"protocol": protocol, "host": items[0], "port": int(items[1])}
    if len(items) == 4:
        fields["username"], fields["password"] = items[2], items[3]
    return fields
