"""A kept results page is from the open web: opened on the user's machine (`vipb rank
evidence -o page.html`), it must run nothing and fetch nothing. Written from the attacker's
side: a hostile page using every way a page makes a browser run code or make a request
(scripts, handlers, javascript: URLs, frames, objects, refresh, base, forms, CSS imports and
backgrounds, srcset, SVG scripts, prefetch hints), opened in real Chromium from a file. A
local server stands in for the attacker and counts what reaches it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.evidence import for_reading, for_viewing
from scripts.fixtures.servers import http_server
from tests.helpers import chromium_page


class _Attacker(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """The attacker's server: its base URL and the paths it was asked for."""
    hits: list[str] = []
    handler = type("Handler", (_Attacker,), {"hits": hits})
    with http_server(handler) as base:
        yield base, hits


def _hostile(base: str) -> str:
    return f"""<!doctype html><html><head>
<base href="{base}/base/">
<meta http-equiv="refresh" content="0;url={base}/refresh">
<link rel="stylesheet" href="{base}/sheet.css"><link rel="prefetch" href="{base}/prefetch">
<link rel="dns-prefetch" href="{base}/dns"><link rel="preload" as="image" href="{base}/preload">
<style>@import url("{base}/import.css"); body {{ background: url({base}/bg.png) }}</style>
<script>fetch("{base}/script"); document.title = "pwned"</script>
<script src="{base}/external.js"></script>
</head><body onload="fetch('{base}/onload')">
<div id="rso"><div class="g"><a href="https://result.example/"><h3>A result</h3></a></div></div>
<img src="{base}/img.png"><img src="x" onerror="fetch('{base}/onerror')">
<img srcset="{base}/srcset.png 2x"><picture><source srcset="{base}/source.png"></picture>
<img src="relative.png">
<iframe src="{base}/frame"></iframe><iframe srcdoc="<script>fetch('{base}/srcdoc')</script>">
</iframe><object data="{base}/object"></object><embed src="{base}/embed">
<video poster="{base}/poster.png" src="{base}/video.mp4"></video><audio src="{base}/a.mp3">
</audio><svg><script>fetch("{base}/svg")</script><image href="{base}/svgimage.png"/></svg>
<a id="js" href="javascript:fetch('{base}/jslink')">click</a>
<form id="f" action="{base}/form" method="post"><input name="q" value="x" autofocus
 onfocus="fetch('{base}/onfocus')"><button formaction="{base}/formaction">go</button></form>
<div style="background-image: url('{base}/inline-bg.png')">styled</div>
<template><img src="{base}/template.png"></template>
<noscript><img src="{base}/noscript.png"></noscript>
</body></html>"""


def test_a_kept_page_opened_in_a_browser_runs_nothing_and_fetches_nothing(
        attacker: tuple[str, list[str]], tmp_path: Path) -> None:
    base, hits = attacker
    page_file = tmp_path / "evidence.html"
    viewed = for_viewing(for_reading(_hostile(base)), [("engine", "google"),
                                                       ("query", "<script>x</script>")])
    page_file.write_text(viewed, encoding="utf-8")
    with chromium_page() as watched:
        page = watched.page
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        page.click("#js")  # a javascript: link the user clicks does nothing either
        page.click("form button", no_wait_after=True)
        page.wait_for_timeout(500)  # what a page queues after load (refresh, timers)
        title = page.title()
        banner = page.inner_text("#vipb-evidence")
        result = page.inner_text("#rso")
    requests, blocked = watched.requests, watched.blocked
    assert hits == [], f"the attacker's server was reached: {hits}"
    # what CSS alone could still ask for is refused by the page's policy before it leaves
    assert {url for url in requests if not url.startswith("file:")} <= {
        f"{base}/import.css", f"{base}/bg.png", f"{base}/inline-bg.png"}, requests
    assert set(blocked) == {url for url in requests if not url.startswith("file:")}
    assert [url for url in requests if url.startswith("file:")] == [page_file.as_uri()]
    assert title != "pwned"
    assert "query" in banner and "<script>x</script>" in banner  # shown as text
    assert "A result" in result, "the results themselves are still there to see"
