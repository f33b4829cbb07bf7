"""Unbounded text from the web never reaches the permanent log (issue 31, point 4): a page
whose title is 10 MB is recorded with its title cut to 1,000 characters, by a tab and by a
creator check; the events file grows by kilobytes, not megabytes."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pykka
import pytest

from adapters.store import EventHistory
from domain.text_limits import TITLE_CHARS
from scripts.fixtures.servers import http_server
from service.runtime import Runtime
from tests.helpers import call, open_runtime

HUGE = 10 * 1024 * 1024


class _HugeTitle(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>" + b"T" * HUGE + b"</title></head><body>hi</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def rt(data_dir: Path) -> Iterator[Runtime]:
    runtime = open_runtime(data_dir)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def _titles(rt: Runtime, event: str) -> list[str]:
    return [e.data["title"] for e in EventHistory(rt.app).log(limit=10_000)
            if e.event == event and e.data]


def test_a_ten_megabyte_title_is_cut_before_it_becomes_an_event(rt: Runtime,
                                                                data_dir: Path) -> None:
    events = data_dir / "events.sqlite"
    with http_server(_HugeTitle) as base:
        rt.settle()
        before = events.stat().st_size + Path(f"{events}-wal").stat().st_size
        tab = call(rt, "tab:create", url=f"{base}/page", proxy="direct")
        assert len(tab["title"]) == TITLE_CHARS and tab["title"].endswith("…")
        call(rt, "tab:close", tab_id=tab["id"])
        call(rt, "automation:add-creator", name="huge", url=f"{base}/profile")
        checked = call(rt, "automation:check-creator", name="huge", proxy="direct")
        rt.settle()
        after = events.stat().st_size + Path(f"{events}-wal").stat().st_size
    assert {len(t) for t in _titles(rt, "TabNavigated")} == {TITLE_CHARS}  # tab and check
    assert checked["title"] is not None and len(checked["title"]) == TITLE_CHARS
    assert after - before < 1024 * 1024, "kilobytes on record, not the 10 MB title"
