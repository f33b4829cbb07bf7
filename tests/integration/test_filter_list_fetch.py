"""Filter lists at URLs are fetched through the egress guard, from the attacker's side: a
list on a private address is refused by default, a redirect from an allowed server to a
private one is refused at the redirect, an endless body stops at the size limit; an allowed
server's list (chunked, after a redirect) loads."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from adapters.browser import read_list
from adapters.browser._blocker import MAX_LIST_BYTES
from adapters.egress import EgressGuard
from domain.egress import EgressPolicy
from domain.errors import ValidationError
from scripts.fixtures.servers import http_server

LIST = "||tracker.example^\n||ads.example^$third-party\n"
TARGET: dict[str, str] = {}


class Lists(BaseHTTPRequestHandler):
    """/list: the list, chunked; /moved: redirect to /list; /away: redirect to TARGET;
    /huge: more than the limit."""

    def do_GET(self) -> None:
        if self.path == "/list":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (LIST[:10], LIST[10:]):
                self.wfile.write(f"{len(part):x}\r\n{part}\r\n".encode())
            self.wfile.write(b"0\r\n\r\n")
        elif self.path in ("/moved", "/away"):
            self.send_response(302)
            self.send_header("Location", "/list" if self.path == "/moved" else TARGET["away"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_LIST_BYTES * 2))
            self.end_headers()
            block = b"!" * 65536
            try:
                for _ in range(MAX_LIST_BYTES * 2 // len(block)):
                    self.wfile.write(block)
            except OSError:
                pass  # the client stopped reading at its limit
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    with http_server(Lists) as allowed, http_server(Lists) as private:
        TARGET["away"] = private + "/list"
        yield allowed, private


def _only(url: str) -> EgressGuard:
    parts = urlsplit(url)
    return EgressGuard(EgressPolicy.from_settings(False, [f"127.0.0.1:{parts.port}"]))


def test_an_allowed_servers_list_loads_after_a_redirect(servers: tuple[str, str]) -> None:
    allowed, _ = servers
    assert read_list(allowed + "/moved", egress=_only(allowed)) == LIST


def test_private_addresses_are_refused_directly_and_after_a_redirect(
        servers: tuple[str, str]) -> None:
    allowed, private = servers
    with pytest.raises(ValidationError, match=r"egress guard refused 127\.0\.0\.1"):
        read_list(private + "/list")  # default policy: public addresses only
    with pytest.raises(ValidationError, match=r"egress guard refused 127\.0\.0\.1") as caught:
        read_list(allowed + "/away", egress=_only(allowed))
    assert str(urlsplit(private).port) in caught.value.message


def test_an_endless_body_stops_at_the_limit(servers: tuple[str, str]) -> None:
    allowed, _ = servers
    with pytest.raises(ValidationError, match=f"larger than {MAX_LIST_BYTES} bytes"):
        read_list(allowed + "/huge", egress=_only(allowed))
