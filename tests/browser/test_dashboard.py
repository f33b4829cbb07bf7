"""`vipb serve` (issue 33, point 3), through the real console script and real Chromium: the
keyword table says what `rank report` says, pages load nothing from anywhere else and log no
error, every request needs the token (then kept in a cookie, out of the address bar), a page
of another origin can neither read nor frame it, a foreign Host header (DNS rebinding) and
writes are refused, and a wildcard address is never served."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.fixtures.sites import Site
from tests.helpers import ENTRY, Cli, chromium_page, record_searches


@pytest.fixture
def dashboard(cli: Cli, tmp_path: Path) -> Iterator[dict[str, str]]:
    assert cli("init").code == 0
    record_searches(tmp_path / "data",
                    ("espresso grinder", "DE", "desktop", {"shop.example": 7,
                                                           "blog.example": None}),
                    ("espresso grinder", "DE", "desktop", {"shop.example": 3,
                                                           "blog.example": 9}),
                    ("burr grinder", None, "mobile", {"shop.example": None,
                                                      "blog.example": 2}))
    assert cli("creator", "add", "jane", "https://example.com/@jane").code == 0
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off"}
    server = subprocess.Popen([*ENTRY, "serve", "--port", "0", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        started = json.loads(server.stdout.readline())
        yield {**started, "token": (tmp_path / "data" / "dashboard.token").read_text().strip()}
    finally:
        server.terminate()
        assert server.wait(30) == 0


def _get(address: str, path: str, **headers: str) -> http.client.HTTPResponse:
    parts = urlsplit(address)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.request(headers.pop("method", "GET"), path, headers=headers)
    return conn.getresponse()


def test_the_dashboard_in_chromium(dashboard: dict[str, str], cli: Cli,
                                   other_site: Site) -> None:
    base, token = dashboard["address"], dashboard["token"]
    with chromium_page() as watched:
        page = watched.page
        page.goto(dashboard["url"])
        assert page.url == f"{base}/", "the token leaves the address bar"
        rows = page.evaluate("""() => [...document.querySelectorAll('#keywords tr')].slice(1)
            .map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))""")
        page.click("text=espresso grinder >> nth=0")
        page.wait_for_load_state("load")
        charted = page.evaluate("document.querySelectorAll('.chart svg .series').length")
        shown = {}
        for path in ("/creators", "/alerts", "/status"):
            answer = page.goto(f"{base}{path}")
            assert answer is not None and answer.status == 200
            shown[path] = page.inner_text("body")
        creators = shown["/creators"]
        own_console = list(watched.console)  # what our pages logged: nothing
        # another origin (the test site on another port) tries to read and to frame it
        page.goto(other_site.url("/frame.html"))
        read = page.evaluate("""(url) => fetch(url, {credentials: 'include'})
            .then(r => r.text()).then(t => 'read ' + t.length, e => 'blocked')""", f"{base}/")
        page.set_content(f'<iframe src="{base}/"></iframe>')
        framed = page.frames[1].evaluate("() => document.body ? document.body.innerText : ''") \
            if len(page.frames) > 1 else ""
    assert all(url.startswith(base) or url.startswith(other_site.base)
               or url.startswith("about:") for url in watched.requests), watched.requests
    assert own_console == []
    report = cli("rank", "report", "--json").json()["rows"]
    expected = {(r["keyword"], r["domain"], f"#{r['latest']}" if r["latest"] else "not ranked",
                 r["movement"]) for r in report}
    assert {(r[0], r[4], r[5], r[6]) for r in rows} == expected
    assert charted >= 2, "the keyword's page charts both domains"
    assert "jane" in creators and "not checked yet" in creators
    assert read == "blocked", "no CORS header: another origin cannot read the pages"
    assert "Keywords" not in framed, "frame-ancestors 'none': not even framed"

    refused = _get(base, "/")
    assert refused.status == 401
    wrong = _get(base, "/", Authorization="Bearer not-the-token")
    assert wrong.status == 401
    answered = _get(base, "/", Authorization=f"Bearer {token}")
    assert answered.status == 200
    headers = {k.lower(): v for k, v in answered.getheaders()}
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["x-content-type-options"],
            headers["referrer-policy"]) == ("DENY", "nosniff", "no-referrer")
    assert "<script" not in answered.read().decode()
    rebound = _get(base, "/", Authorization=f"Bearer {token}", Host="attacker.example:80")
    assert rebound.status == 421, "DNS rebinding: a foreign Host is refused"
    written = _get(base, "/", Authorization=f"Bearer {token}", method="POST")
    assert written.status == 405


def test_a_wildcard_address_is_refused(cli: Cli) -> None:
    assert cli("init").code == 0
    for wildcard in ("0.0.0.0", "::"):
        refused = cli("serve", "--bind", wildcard, "--port", "0")
        assert refused.code == 2 and refused.err.startswith("vipb: error: bind:"), refused.err
