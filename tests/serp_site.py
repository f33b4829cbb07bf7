"""A local search engine for rank-tracking tests: result pages in the markup of DuckDuckGo's
HTML endpoint, Bing and Google (the parts our parsers read), served on 127.0.0.1.

``results[keyword]`` is the ordered organic result list; pages also carry an ad for
``ads.example`` and a widget (parsers must skip both). ``padding`` adds that many bytes of
markup to each page, different on every page (real results pages are hundreds of KiB:
benchmarks of what keeping them costs need pages that size). ``fail_next`` answers the next N
searches with ``failure`` ("captcha", "http429", "garbage", "bot_no_results") before serving
results again. ``queries`` records each request's parameters and User-Agent.
"""

from __future__ import annotations

import contextlib
import html
import random
import string
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

from tests.servers import http_server

PAGE_SIZE = 10


@dataclass
class SerpSite:
    """The engine's state: results, failures to inject, and the queries it received."""

    base: str = ""
    results: dict[str, list[str]] = field(default_factory=dict)
    fail_next: int = 0
    failure: str = "captcha"
    queries: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)  # cleared: pages wait
    padding: int = 0

    def __post_init__(self) -> None:
        self.release.set()

    def engine_urls(self) -> dict[str, str]:
        """``Settings.engine_urls`` pointing every engine here."""
        return {"duckduckgo": self.base + "/html/", "bing": self.base + "/search",
                "google": self.base + "/google/search"}

    def searches(self) -> int:
        """How many results pages were asked for."""
        with self.lock:
            return len(self.queries)


def _ddg(urls: list[str], offset: int, more: bool) -> str:
    """DuckDuckGo's HTML endpoint: ``#links > div.result``, an ad first, POST paging."""
    blocks = ['<div class="result results_links results_links_deep result--ad">'
              '<div class="links_main"><h2 class="result__title"><a class="result__a" '
              'href="https://duckduckgo.com/y.js?ad_domain=ads.example">Ad</a>'
              '<span class="badge--ad">Ad</span></h2></div></div>']
    for url in urls:
        link = "//duckduckgo.com/l/?uddg=" + quote(url, safe="") + "&rut=abc"
        blocks.append(f'<div class="result results_links results_links_deep web-result">'
                      f'<div class="links_main links_deep result__body">'
                      f'<h2 class="result__title"><a rel="nofollow" class="result__a" '
                      f'href="{html.escape(link)}">{html.escape(url)}</a></h2>'
                      f'<a class="result__snippet" href="{html.escape(link)}">snippet</a>'
                      f'</div></div>')
    if not urls and offset == 0:
        blocks.append('<div class="result results_links result--no-result">'
                      '<div class="no-results">No  results.</div></div>')
    if more:
        blocks.append(f'<div class="nav-link"><form action="/html/" method="post">'
                      f'<input type="submit" class="btn btn--alt" value="Next">'
                      f'<input type="hidden" name="s" value="{offset + len(urls)}"></form></div>')
    return f'<html><body><div id="links" class="results">{"".join(blocks)}</div></body></html>'


def _bing(urls: list[str], offset: int, more: bool) -> str:
    """Bing: ``#b_results > li.b_algo``, a top ad block, a carousel answer, ``a.sb_pagN``."""
    items = ['<li class="b_ad b_adTop"><ul><li><div class="sb_add"><h2>'
             '<a href="https://ads.example/">Ad</a></h2></div></li></ul></li>']
    for i, url in enumerate(urls):
        items.append(f'<li class="b_algo"><h2><a href="{html.escape(url)}">{html.escape(url)}'
                     f'</a></h2><div class="b_caption"><p>snippet</p></div></li>')
        if i == 1:
            items.append('<li class="b_ans"><div class="b_slidebar"><ul><li class="b_algo slide">'
                         '<div class="algocl"><h2><a href="https://carousel.example/">In a '
                         'carousel</a></h2></div></li></ul></div></li>')
    if not urls and offset == 0:
        items.append('<li class="b_no"><h1>There are no results for <strong>x</strong></h1>'
                     '</li>')
    if more:
        items.append(f'<li class="b_pag"><nav><ul><li><a class="sb_pagN" title="Next page" '
                     f'href="/search?first={offset + len(urls) + 1}">Next</a></li></ul></nav></li>')
    return f'<html><body><main><ol id="b_results">{"".join(items)}</ol></main></body></html>'


def _google(urls: list[str], offset: int, more: bool) -> str:
    """Google: ``#rso`` of ``div.MjjYud`` blocks, an ad, an "Images for" box, ``a#pnnext``."""
    ads = ('<div id="tads"><div data-text-ad="1"><a href="https://www.googleadservices.com/'
           'pagead/aclk?adurl=https://ads.example/"><h3>Ad</h3></a></div></div>')
    blocks = []
    for i, url in enumerate(urls):
        blocks.append(f'<div class="MjjYud"><div jscontroller="SC7lYd" class="g tF2Cxc">'
                      f'<div class="yuRUbf"><a href="/url?q={quote(url, safe="")}&amp;sa=U">'
                      f'<br><h3 class="LC20lb">{html.escape(url)}</h3></a></div></div></div>')
        if i == 0:
            blocks.append('<div class="MjjYud"><div id="iur"><a href="/search?q=x&amp;tbm=isch">'
                          '<h3>Images for x</h3></a></div></div>')
    top = ('<div id="topstuff"><div class="card-section"><p role="heading">Your search did '
           'not match any documents.</p></div></div>' if not urls and offset == 0 else "")
    nav = '<a id="pnnext" href="#">Next</a>' if more else ""
    body = f'{top}<div id="search">{ads}<div id="rso">{"".join(blocks)}</div></div>{nav}'
    return f"<html><body>{body}</body></html>"


_FAILURES = {
    "captcha": (200, '<html><body><form id="challenge-form"></form><form id="captcha-form">'
                '</form><div id="b_captcha"></div></body></html>'),
    "garbage": (200, "<html><body><p>Something else entirely</p></body></html>"),
    "empty": (200, '<html><body><div id="links" class="results"></div><ol id="b_results"></ol>'
              '<div id="search"><div id="rso"></div></div></body></html>'),
    # what engines answer clients they distrust: "no results", whatever the query
    "bot_no_results": (200, '<html><body><ol id="b_results"><li class="b_no"><h1>There are no '
                       'results for <strong>x</strong></h1></li></ol><div id="links" '
                       'class="results"><div class="no-results">No  results.</div></div>'
                       '<div id="topstuff">did not match any documents</div></body></html>'),
    "http429": (429, "<html><body>Too many requests</body></html>"),
}


_ENGINE_PATHS = ("/html/", "/search", "/google/search")


def _padding(size: int, seed: str) -> str:
    """About ``size`` bytes of results-page-like markup (class soup, data attributes, short
    texts), hidden and link-free, different for every ``seed``."""
    rng = random.Random(seed)
    words = ["coffee", "grinder", "espresso", "burr", "review", "price", "best", "guide",
             "shop", "home", "kitchen", "buy", "compare", "2026", "ratings", "deal"]
    parts, total = ['<div hidden class="padding">'], 0
    while total < size:
        cls = "".join(rng.choice(string.ascii_letters) for _ in range(6))
        ved = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))
        text = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        chunk = f'<div class="{cls} UK95Uc" data-ved="{ved}"><span>{text}</span></div>'
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts) + "</div>"


class _Handler(BaseHTTPRequestHandler):
    site: SerpSite

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        site = self.site
        if parts.path not in _ENGINE_PATHS:  # favicon and the like
            self._send(404, "not found")
            return
        with site.lock:
            site.queries.append({"path": parts.path, "user_agent":
                                 self.headers.get("User-Agent", ""), **query})
            failing = site.fail_next > 0
            if failing:
                site.fail_next -= 1
        if failing:
            status, body = _FAILURES[site.failure]
            self._send(status, body)
            return
        site.release.wait(60)
        keyword = query.get("q", "")
        all_results = site.results.get(keyword, [])
        if parts.path == "/html/":
            offset, render = int(query.get("s", 0)), _ddg
        elif parts.path == "/search":
            offset, render = int(query.get("first", 1)) - 1, _bing
        else:
            offset, render = int(query.get("start", 0)), _google
        page = all_results[offset:offset + PAGE_SIZE]
        body = render(page, offset, offset + PAGE_SIZE < len(all_results))
        if site.padding:
            body = body.replace("</body>", _padding(site.padding, f"{keyword}/{offset}")
                                + "</body>")
        self._send(200, body)

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serp_site() -> Iterator[SerpSite]:
    """Serve the engine on 127.0.0.1 (random port)."""
    site = SerpSite()
    with http_server(type("Handler", (_Handler,), {"site": site})) as base:
        site.base = base
        yield site
