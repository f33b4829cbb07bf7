"""Search engines: how to ask for a results page, and how to read one (selectolax).

Each engine keeps its selectors in one place, so a markup change is a one-class fix. Base
URLs can be overridden (``VIPB_ENGINE_URLS``), which is how tests point engines at a local
server. A page that is neither results nor the engine's "no results" answer raises
``SerpError``: the search failed, and that is never recorded as "not ranked".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urlencode

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

from adapters.serp._page import SerpBlockedError, SerpError, SerpPage, absolute, organic, unwrap
from domain.locales import locale_for


def _language(country: str | None) -> str:
    return locale_for(country).split("-")[0] if country else "en"


class Engine(ABC):
    """One search engine's URL scheme and results-page reader.

    ``parse`` is the same for every engine; an engine names its selectors and says where
    its result links are (``_hrefs``) and how it says "no results" (``_says_none``)."""

    name: ClassVar[str]
    base_url: ClassVar[str]
    blocked: ClassVar[str]  # selector of a captcha/consent/anomaly page
    blocked_what: ClassVar[str]  # "a captcha", for the error
    containers: ClassVar[tuple[str, ...]]  # the results container, first found wins
    container_what: ClassVar[str]  # how the error names a missing container
    next_page: ClassVar[str]  # selector of the "next page" control

    def __init__(self, base_url: str | None = None) -> None:
        self.base = base_url or self.base_url

    @abstractmethod
    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """The results page holding results ``offset + 1`` onwards."""

    @abstractmethod
    def _hrefs(self, container: Node) -> Iterator[str]:
        """The organic result links in page order (ads left out)."""

    @abstractmethod
    def _says_none(self, tree: LexborHTMLParser, container: Node) -> bool:
        """Does the page say the search has no results?"""

    def parse(self, html: str, page_url: str) -> SerpPage:
        """Read a results page; raise ``SerpError``/``SerpBlockedError`` if it is not one."""
        tree = LexborHTMLParser(html)
        if tree.css_first(self.blocked):
            raise SerpBlockedError(f"{self.name} answered with {self.blocked_what}")
        container = next((found for selector in self.containers
                          if (found := tree.css_first(selector)) is not None), None)
        if container is None:
            raise SerpError(f"{self.name} page has no {self.container_what} (markup changed?)")
        urls = [unwrap(absolute(page_url, href)) for href in self._hrefs(container)]
        no_results = self._says_none(tree, container)
        if not urls and not no_results:
            raise SerpError(f"{self.name} page lists no results and does not say there are none")
        return SerpPage(organic(urls), no_results=no_results and not urls,
                        has_next=tree.css_first(self.next_page) is not None)

    def _query(self, params: dict[str, object]) -> str:
        sep = "&" if "?" in self.base else "?"
        return self.base + sep + urlencode({k: v for k, v in params.items() if v is not None})


def _href(node: Node | None) -> str | None:
    return node.attributes.get("href") if node is not None else None


class DuckDuckGo(Engine):
    """DuckDuckGo's HTML endpoint (no JavaScript needed): ``.result`` blocks with an
    ``a.result__a``; ``.result--ad`` are ads."""

    name: ClassVar[str] = "duckduckgo"
    base_url: ClassVar[str] = "https://html.duckduckgo.com/html/"
    blocked: ClassVar[str] = "#challenge-form, .anomaly-modal__title, form[action*='anomaly']"
    blocked_what: ClassVar[str] = "its anomaly/captcha page"
    containers: ClassVar[tuple[str, ...]] = ("#links, .results",)
    container_what: ClassVar[str] = "results container"
    next_page: ClassVar[str] = "form.nav-link input[name='s'], .nav-link input[name='s']"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&s=<offset>&kl=<region>``."""
        region = None
        if country:
            region = f"{'uk' if country == 'GB' else country.lower()}-{_language(country)}"
        return self._query({"q": keyword, "s": offset or None, "kl": region})

    def _hrefs(self, container: Node) -> Iterator[str]:
        for block in container.css(".result"):
            if "result--ad" in (block.attributes.get("class") or ""):
                continue
            if href := _href(block.css_first("a.result__a")):
                yield href

    def _says_none(self, tree: LexborHTMLParser, container: Node) -> bool:
        return tree.css_first(".no-results, .result--no-result") is not None


class Bing(Engine):
    """Bing web search: ``#b_results > li.b_algo`` with an ``h2 a``; ``li.b_ad`` are ads."""

    name: ClassVar[str] = "bing"
    base_url: ClassVar[str] = "https://www.bing.com/search"
    blocked: ClassVar[str] = "#b_captcha, form[action*='captcha'], #turnstile-widget"
    blocked_what: ClassVar[str] = "a captcha"
    containers: ClassVar[tuple[str, ...]] = ("#b_results",)
    container_what: ClassVar[str] = "#b_results"
    next_page: ClassVar[str] = "a.sb_pagN, a[title='Next page']"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&first=<offset+1>&cc=<country>``."""
        return self._query({"q": keyword, "first": offset + 1 if offset else None,
                            "cc": country, "setlang": _language(country) if country else None})

    def _hrefs(self, container: Node) -> Iterator[str]:
        for item in container.css("li.b_algo"):
            if href := _href(item.css_first("h2 a")):
                yield href

    def _says_none(self, tree: LexborHTMLParser, container: Node) -> bool:
        return container.css_first("li.b_no") is not None


class Google(Engine):
    """Google web search (often answers automated clients with a captcha: that is a
    failed search, recorded as such). Organic results are links holding an ``h3`` inside
    ``#rso`` (else ``#search``), outside the ad blocks."""

    name: ClassVar[str] = "google"
    base_url: ClassVar[str] = "https://www.google.com/search"
    blocked: ClassVar[str] = "form#captcha-form, #recaptcha, form[action*='consent']"
    blocked_what: ClassVar[str] = "a captcha or consent page"
    containers: ClassVar[tuple[str, ...]] = ("#rso", "#search")
    container_what: ClassVar[str] = "#search"
    next_page: ClassVar[str] = "a#pnnext"

    def url(self, keyword: str, offset: int, country: str | None) -> str:
        """``?q=...&start=<offset>&gl=<country>&hl=<language>``."""
        return self._query({"q": keyword, "start": offset or None, "gl": country,
                            "hl": _language(country) if country else None})

    def _hrefs(self, container: Node) -> Iterator[str]:
        for heading in container.css("h3"):
            node = heading.parent
            while node is not None and node.tag != "a":
                node = node.parent
            if node is None or _inside_ad(node):
                continue
            if href := _href(node):
                yield href

    def _says_none(self, tree: LexborHTMLParser, container: Node) -> bool:
        return "did not match any documents" in (tree.css_first("#topstuff") or container).text()


def _inside_ad(node: Node) -> bool:
    current = node.parent
    while current is not None:
        if current.id in ("tads", "bottomads") or \
                current.attributes.get("data-text-ad") is not None:
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
