"""Search engines: how to ask for a results page, and how to read one (selectolax).

Each engine keeps its selectors in one place, so a markup change is a one-class fix. Base
URLs can be overridden (``VIPB_ENGINE_URLS``), which is how tests point engines at a local
server. A page that is neither results nor the engine's "no results" answer raises
``SerpError``: the search failed, and that is never recorded as "not ranked".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar
from urllib.parse import urlencode

from selectolax.lexbor import LexborHTMLParser

from adapters.serp._page import SerpBlockedError, SerpError, SerpPage, absolute, organic, unwrap
from domain.locales import locale_for


def _language(country: str | None) -> str:
    return locale_for(country).split("-")[0] if country else "en"


class Engine(ABC):
    """One search engine's URL scheme and results-page reader."""

    name: ClassVar[str]
    base_url: ClassVar[str]

    def __init__(self, base_url: str | None = None) -> None:
        self.base = base_url or self.base_url

    @abstractmethod
    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """The results page holding results ``offset + 1`` onwards."""

    @abstractmethod
    def parse(self, html: str, page_url: str) -> SerpPage:
        """Read a results page; raise ``SerpError``/``SerpBlockedError`` if it is not one."""

    def _query(self, params: dict[str, object]) -> str:
        sep = "&" if "?" in self.base else "?"
        return self.base + sep + urlencode({k: v for k, v in params.items() if v is not None})


class DuckDuckGo(Engine):
    """DuckDuckGo's HTML endpoint (no JavaScript needed)."""

    name: ClassVar[str] = "duckduckgo"
    base_url: ClassVar[str] = "https://html.duckduckgo.com/html/"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&s=<offset>&kl=<region>``."""
        region = None
        if country:
            region = f"{'uk' if country == 'GB' else country.lower()}-{_language(country)}"
        return self._query({"q": keyword, "s": offset or None, "kl": region})

    def parse(self, html: str, page_url: str) -> SerpPage:
        """Results are ``.result`` blocks (``.result--ad`` are ads) with an ``a.result__a``."""
        tree = LexborHTMLParser(html)
        if tree.css_first("#challenge-form, .anomaly-modal__title, form[action*='anomaly']"):
            raise SerpBlockedError("duckduckgo answered with its anomaly/captcha page")
        container = tree.css_first("#links, .results")
        if container is None:
            raise SerpError("duckduckgo page has no results container (markup changed?)")
        urls = []
        for block in container.css(".result"):
            if "result--ad" in (block.attributes.get("class") or ""):
                continue
            link = block.css_first("a.result__a")
            href = link.attributes.get("href") if link else None
            if href:
                urls.append(unwrap(absolute(page_url, href)))
        no_results = tree.css_first(".no-results, .result--no-result") is not None
        if not urls and not no_results:
            raise SerpError("duckduckgo page lists no results and does not say there are none")
        has_next = tree.css_first("form.nav-link input[name='s'], .nav-link input[name='s']")
        return SerpPage(organic(urls), no_results=no_results and not urls,
                        has_next=has_next is not None)


class Bing(Engine):
    """Bing web search."""

    name: ClassVar[str] = "bing"
    base_url: ClassVar[str] = "https://www.bing.com/search"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&first=<offset+1>&cc=<country>``."""
        return self._query({"q": keyword, "first": offset + 1 if offset else None,
                            "cc": country, "setlang": _language(country) if country else None})

    def parse(self, html: str, page_url: str) -> SerpPage:
        """Results are ``#b_results > li.b_algo`` with an ``h2 a``; ``li.b_ad`` are ads."""
        tree = LexborHTMLParser(html)
        if tree.css_first("#b_captcha, form[action*='captcha'], #turnstile-widget"):
            raise SerpBlockedError("bing answered with a captcha")
        container = tree.css_first("#b_results")
        if container is None:
            raise SerpError("bing page has no #b_results (markup changed?)")
        urls = []
        for item in container.css("li.b_algo"):
            link = item.css_first("h2 a")
            href = link.attributes.get("href") if link else None
            if href:
                urls.append(unwrap(absolute(page_url, href)))
        no_results = container.css_first("li.b_no") is not None
        if not urls and not no_results:
            raise SerpError("bing page lists no results and does not say there are none")
        has_next = tree.css_first("a.sb_pagN, a[title='Next page']") is not None
        return SerpPage(organic(urls), no_results=no_results and not urls, has_next=has_next)


class Google(Engine):
    """Google web search (often answers automated clients with a captcha: that is a
    failed search, recorded as such)."""

    name: ClassVar[str] = "google"
    base_url: ClassVar[str] = "https://www.google.com/search"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&start=<offset>&gl=<country>&hl=<language>``."""
        return self._query({"q": keyword, "start": offset or None, "gl": country,
                            "hl": _language(country) if country else None})

    def parse(self, html: str, page_url: str) -> SerpPage:
        """Organic results are links holding an ``h3`` inside ``#search``/``#rso``."""
        tree = LexborHTMLParser(html)
        if tree.css_first("form#captcha-form, #recaptcha, form[action*='consent']"):
            raise SerpBlockedError("google answered with a captcha or consent page")
        container = tree.css_first("#rso") or tree.css_first("#search")
        if container is None:
            raise SerpError("google page has no #search (markup changed?)")
        urls = []
        for heading in container.css("h3"):
            node = heading.parent
            while node is not None and node.tag != "a":
                node = node.parent
            if node is None or node.tag != "a":
                continue
            if _inside_ad(node):
                continue
            href = node.attributes.get("href")
            if href:
                urls.append(unwrap(absolute(page_url, href)))
        text = (tree.css_first("#topstuff") or container).text()
        no_results = "did not match any documents" in text
        if not urls and not no_results:
            raise SerpError("google page lists no results and does not say there are none")
        has_next = tree.css_first("a#pnnext") is not None
        return SerpPage(organic(urls), no_results=no_results and not urls, has_next=has_next)


def _inside_ad(node: object) -> bool:
    current = getattr(node, "parent", None)
    while current is not None:
        attrs = current.attributes
        if current.id in ("tads", "bottomads") or attrs.get("data-text-ad") is not None:
            return True
        current = current.parent
    return False


ENGINE_CLASSES: dict[str, type[Engine]] = {e.name: e for e in (DuckDuckGo, Bing, Google)}


def engine(name: str, overrides: dict[str, str] | None = None) -> Engine:
    """The engine called ``name`` (base URL from ``overrides`` when given)."""
    cls = ENGINE_CLASSES.get(name)
    if cls is None:
        raise SerpError(f"unknown engine {name!r} (engines: {', '.join(ENGINE_CLASSES)})")
    return cls((overrides or {}).get(name))
