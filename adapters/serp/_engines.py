"""A search engine at work: the URL of a results page, and what a page says (selectolax).

The engine's knowledge is data (``EngineDefinition``, one TOML file per engine); this module
applies it the same way for every engine:

* a captcha, consent or anomaly page raises ``SerpBlockedError``;
* the result list is read layout by layout (the current one first, then fallbacks), and the
  first layout that yields results is the page's;
* a result is the first link of one of the list's own items that leads off the engine
  (after unwrapping click-tracking redirects): links to the engine's own hosts (the page's
  host, ``own_hosts``) and anything inside an excluded block (ads, carousels, image, video
  and news packs, "people also ask", local packs) are never results, whatever they hold;
* a page that lists nothing and does not say "no results" raises ``SerpError``: the search
  failed, and that is never recorded as "not ranked".
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

from adapters.serp._definition import EngineDefinition, Layout, Markers
from adapters.serp._page import SerpBlockedError, SerpError, SerpPage, SerpResult, absolute, unwrap
from domain.locales import locale_for


class Engine:
    """One search engine, as its definition describes it."""

    def __init__(self, definition: EngineDefinition, base_url: str | None = None) -> None:
        self.definition = definition
        self.name = definition.name
        self.base = base_url or definition.url

    def url(self, keyword: str, offset: int, country: str | None, page: int = 0) -> str:
        """The results page holding results ``offset + 1`` onwards (``page`` pages read)."""
        d = self.definition
        values: dict[str, str | None] = {
            "keyword": keyword,
            "offset": str(offset) if offset else None,
            "first": str(offset + 1) if offset else None,
            "page": str(page) if page else None,
            "country": None, "country_lower": None, "language": None, "locale": None,
        }
        if country:
            code = d.country_codes.get(country, country)
            locale = locale_for(country)
            values.update(country=code.upper(), country_lower=code.lower(),
                          language=locale.split("-")[0], locale=locale)
        params = {}
        for key, template in d.params.items():
            try:
                params[key] = template.format_map(_Values(values))
            except KeyError:
                continue  # names an absent variable: the parameter is left out
        sep = "&" if "?" in self.base else "?"
        return self.base + (sep + urlencode(params) if params else "")

    def parse(self, html: str, page_url: str) -> SerpPage:
        """Read a results page; raise ``SerpError``/``SerpBlockedError`` if it is not one."""
        d = self.definition
        tree = LexborHTMLParser(html)
        for markers, default in ((d.blocked, "a captcha"), (d.consent, "a consent page")):
            if _matches(tree, markers):
                raise SerpBlockedError(f"{self.name} answered with {markers.what or default}")
        excluded = {node for selector in d.exclude for node in tree.css(selector)}
        results: list[SerpResult] = []
        layout_name = ""
        for layout in d.layouts:
            results = _dedupe(self._read(tree, layout, excluded, page_url))
            if results:
                layout_name = layout.name
                break
        no_results = not results and _matches(tree, d.no_results)
        if not results and not no_results:
            raise SerpError(f"{self.name} page lists no results and does not say there are "
                            "none (markup changed?)")
        # a feature's selectors are alternatives in order: the first that matches counts
        features: dict[str, int] = {
            name: count for name, selectors in d.features.items()
            if (count := next((n for s in selectors if (n := len(tree.css(s)))), 0))}
        has_next = any(self._is_next(node) for s in d.next_page for node in tree.css(s))
        return SerpPage(results, no_results=no_results, has_next=has_next and bool(results),
                        features=features, layout=layout_name)

    def _read(self, tree: LexborHTMLParser, layout: Layout, excluded: set[Node],
              page_url: str) -> Iterator[SerpResult]:
        items = tree.css(layout.items)
        item_set = set(items)
        link_set = set(tree.css(layout.link))  # (lexbor's css_matches also looks inside)
        page_host = (urlsplit(page_url).hostname or "").lower()
        for item in items:
            if _under(item, excluded, None) or _under(item.parent, item_set, None):
                continue  # inside a widget, or part of an item already read (sitelinks)
            links = [item] if item in link_set else item.css(layout.link)
            for link in links:
                href = link.attributes.get("href")
                if not href or (link is not item and _under(link, excluded, item)):
                    continue
                url = unwrap(absolute(page_url, href.strip()))
                parts = urlsplit(url)
                host = (parts.hostname or "").lower().rstrip(".")
                if parts.scheme not in ("http", "https") or not host or host == page_host \
                        or self.is_own_host(host):
                    continue
                yield SerpResult(url=url, title=_title(layout, link, item))
                break

    def _is_next(self, node: Node) -> bool:
        words = self.definition.next_page_text
        if not words:
            return True
        text = " ".join([node.text(separator=" "), node.attributes.get("aria-label") or "",
                         node.attributes.get("value") or ""]).casefold()
        return any(w.casefold() in text for w in words)

    def is_own_host(self, host: str) -> bool:
        """Is ``host`` one of the engine's own (``own_hosts``: a host and its subdomains, or
        ``name.*``: that name under any public suffix, and its subdomains)?"""
        labels = host.lower().rstrip(".").split(".")
        for entry in self.definition.own_hosts:
            if entry.endswith(".*"):
                name = entry[:-2].split(".")
                for i in range(len(labels) - len(name)):
                    suffix = len(labels) - i - len(name)
                    if labels[i:i + len(name)] == name and 1 <= suffix <= 2:
                        return True
            elif host == entry or host.endswith("." + entry):
                return True
        return False


class _Values(dict[str, str | None]):
    """Template values: an absent (None) variable raises KeyError, so the parameter goes."""

    def __missing__(self, key: str) -> str:
        raise KeyError(key)

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value


def _under(node: Node | None, marked: set[Node], stop: Node | None) -> bool:
    """Is ``node`` or one of its ancestors (below ``stop``) in ``marked``?"""
    while node is not None and node != stop:
        if node in marked:
            return True
        node = node.parent
    return False


def _matches(tree: LexborHTMLParser, markers: Markers) -> bool:
    if any(tree.css_first(s) is not None for s in markers.css):
        return True
    if not markers.text:
        return False
    scope = tree.css_first(markers.within) if markers.within else tree.body
    text = (scope.text(separator=" ") if scope is not None else "").casefold()
    return any(t.casefold() in text for t in markers.text)


def _title(layout: Layout, link: Node, item: Node) -> str:
    node = None
    if layout.title:
        node = link.css_first(layout.title) or item.css_first(layout.title)
    text = (node or link).text(separator=" ")
    return " ".join(text.split())[:300]


def _dedupe(results: Iterator[SerpResult]) -> list[SerpResult]:
    seen: set[str] = set()
    kept = []
    for result in results:
        if result.url not in seen:
            seen.add(result.url)
            kept.append(result)
    return kept
