"""A search engine at work: the URL of a results page, and what a page says (selectolax).

The engine's knowledge is data (``EngineDefinition``, one TOML file per engine); this module
applies it the same way for every engine:

* a captcha or anomaly page raises ``SerpBlockedError``; so does a consent page, but only
  when it hides the results: a result list under a consent dialog is read, and the dialog
  is noted (``SerpPage.notices``);
* the result list is read layout by layout (the current one first, then fallbacks), and the
  first layout that yields results is the page's;
* a result is the first link of one of the list's own items that is a result: not inside an
  excluded block (ads, carousels, image, video and news packs, "people also ask", local
  packs) nor a pack recognised by its shape (``Packs``), not an ad or tracking host
  (``own_hosts``), and not one of the engine's own search or vertical pages
  (``engine_pages`` on its ``search_hosts``: its other pages, an app's store page say,
  rank like anyone's);
* an item nested in another is part of it (sitelinks), unless it has its own title link and
  snippet: a site's second result grouped with its first is a result of its own;
* a page that lists nothing and does not say "no results" raises ``SerpError``: the search
  failed, and that is never recorded as "not ranked".
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

from adapters.serp._definition import EngineDefinition, Layout, Markers, Packs
from adapters.serp._page import SerpBlockedError, SerpError, SerpPage, SerpResult, absolute, unwrap
from adapters.serp._select import PageSelector
from domain.locales import locale_for
from domain.text_limits import TITLE_CHARS, URL_CHARS, capped

# a video's running time as engines print it on a thumbnail: 0:45, 12:04, 1:02:03
_DURATION = re.compile(r"(?<![\d:])(?:\d{1,2}:)?\d{1,2}:\d{2}(?![\d:])")
_UULE_LENGTHS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def uule(location: str) -> str:
    """Google's ``uule`` for a canonical location name (``Berlin,Berlin,Germany``): a fixed
    prefix, the name's length as one base64 digit, and the name in base64."""
    name = location.encode()
    if not 0 < len(name) < len(_UULE_LENGTHS):
        raise ValueError(f"a location name must be 1 to {len(_UULE_LENGTHS) - 1} bytes long")
    return "w+CAIQICI" + _UULE_LENGTHS[len(name)] + base64.b64encode(name).decode()


class Engine:
    """One search engine, as its definition describes it."""

    def __init__(self, definition: EngineDefinition, base_url: str | None = None,
                 version: str = "") -> None:
        self.definition = definition
        self.name = definition.name
        self.base = base_url or definition.url
        self.version = version or definition.name  # the definition's version (its hash)

    def url(self, keyword: str, offset: int, country: str | None, page: int = 0,
            language: str | None = None, location: str | None = None) -> str:
        """The results page holding results ``offset + 1`` onwards (``page`` pages read),
        as seen from ``country`` (near ``location``) in ``language``."""
        d = self.definition
        values: dict[str, str | None] = dict.fromkeys(
            ("country", "country_lower", "language", "locale", "region", "location", "uule"))
        values.update(keyword=keyword, offset=str(offset) if offset else None,
                      first=str(offset + 1) if offset else None,
                      page=str(page) if page else None)
        if country:
            code = d.country_codes.get(country, country)
            main = locale_for(country).split("-")[0]
            lang = language or main
            values.update(country=code.upper(), country_lower=code.lower(), language=lang,
                          locale=f"{lang}-{country.upper()}", region=d.regions.get(country))
        elif language:
            values.update(language=language)
        if location:
            values.update(location=location, uule=uule(location))
        params = {}
        for key, template in d.params.items():
            try:
                params[key] = template.format_map(_Values(values))
            except KeyError:
                continue  # names an absent variable: the parameter is left out
        sep = "&" if "?" in self.base else "?"
        return self.base + (sep + urlencode(params) if params else "")

    def parse(self, html: str, page_url: str,
              tree: LexborHTMLParser | None = None) -> SerpPage:
        """Read a results page (``tree``: ``html`` parsed already, if it was); raise
        ``SerpError``/``SerpBlockedError`` if it is not one."""
        d = self.definition
        tree = LexborHTMLParser(html) if tree is None else tree
        page = PageSelector(tree)  # answers as ``tree.css`` does, from fewer walks
        if _matches(page, tree, d.blocked):
            raise SerpBlockedError(f"{self.name} answered with {d.blocked.what or 'a captcha'}")
        # nodes are kept by ``mem_id``: lexbor compares nodes by their HTML (slow, and two
        # equal-looking blocks are not the same block)
        excluded = {node.mem_id for selector in d.exclude for node in page.css(selector)}
        packs = _packs(page, d.packs) if d.packs is not None else []
        excluded |= {pack.mem_id for pack in packs}
        results: list[SerpResult] = []
        layout_name = ""
        for layout in d.layouts:
            results = _dedupe(self._read(page, layout, excluded, page_url))
            if results:
                layout_name = layout.name
                break
        no_results = not results and _matches(page, tree, d.no_results)
        consent = _matches(page, tree, d.consent)
        if consent and not results and not no_results:  # the dialog hides the answer
            what = d.consent.what or "a consent page"
            raise SerpBlockedError(f"{self.name} answered with {what}")
        if not results and not no_results:
            raise SerpError(f"{self.name} page lists no results and does not say there are "
                            "none (markup changed?)")
        # a feature's selectors are alternatives in order: the first that matches counts
        features: dict[str, int] = {
            name: count for name, selectors in d.features.items()
            if (count := next((n for s in selectors if (n := len(page.css(s)))), 0))}
        video_packs = sum(1 for p in packs if _DURATION.search(p.text(separator=" ")))
        if video_packs and not features.get("videos"):  # a pack its selectors do not know
            features["videos"] = video_packs
        has_next = any(self._is_next(node) for s in d.next_page for node in page.css(s))
        return SerpPage(results, no_results=no_results, has_next=has_next and bool(results),
                        features=features, layout=layout_name,
                        notices=("consent",) if consent else ())

    def _read(self, page: PageSelector, layout: Layout, excluded: set[int],
              page_url: str) -> Iterator[SerpResult]:
        items = page.css(layout.items)
        item_set = {item.mem_id for item in items}
        link_set = {link.mem_id for link in page.css(layout.link)}  # (css_matches looks inside)
        page_host = (urlsplit(page_url).hostname or "").lower().rstrip(".")
        nested = {item.mem_id for item in items if _under(item.parent, item_set)}
        holders = {_nearest(item.parent, item_set) for item in items if item.mem_id in nested}
        # items inside items that have a title link and a snippet of their own: results
        own = {item.mem_id for item in items if item.mem_id in nested and layout.snippet
               and item.css_first(layout.snippet) is not None
               and any(link.mem_id in link_set for link in item.css(layout.link))}
        for item in items:
            key = item.mem_id
            if _under(item, excluded):
                continue  # inside a widget
            if key in nested and key not in own:
                continue  # part of an item read already (sitelinks)
            links = [item] if key in link_set else item.css(layout.link)
            for link in links:
                href = link.attributes.get("href")
                inner = link.mem_id != key
                if not href or (inner and (_under(link, excluded, key)
                                           or _under(link.parent, own, key))):
                    continue  # in a widget inside the item, or in a result of its own
                if key in holders and not _under(link.parent, item_set, key):
                    continue  # a block holding results: its own links (a panel's) are not
                url = unwrap(absolute(page_url, href.strip()))
                if not self.is_result_url(url, page_host):
                    continue
                yield SerpResult(url=capped(url, URL_CHARS),
                                 title=capped(_title(layout, link, item), TITLE_CHARS))
                break

    def is_result_url(self, url: str, page_host: str = "") -> bool:
        """Can a link to ``url`` be an organic result? Not an ad, tracking or static host
        (``own_hosts``), nor the engine's own search and vertical pages (``engine_pages``
        on its ``search_hosts`` and the results page's host); any other page is."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            return False
        if self.is_own_host(host):
            return False
        if host == page_host or _host_in(host, self.definition.search_hosts, subdomains=False):
            return not self.is_engine_page(parts.path or "/", parts.query)
        return True

    def is_engine_page(self, path: str, query: str) -> bool:
        """Is ``path?query`` (on one of the engine's hosts) one of its own search or
        vertical pages (``engine_pages``: ``/search``, that page; ``/maps/place/``, every
        page below it; ``/maps?q``: that page carrying that parameter)?"""
        params = parse_qs(query, keep_blank_values=True)
        for entry in self.definition.engine_pages:
            prefix, _, param = entry.partition("?")
            if _path_under(path, prefix) and (not param or param in params):
                return True
        return False

    def _is_next(self, node: Node) -> bool:
        words = self.definition.next_page_text
        if not words:
            return True
        text = " ".join([node.text(separator=" "), node.attributes.get("aria-label") or "",
                         node.attributes.get("value") or ""]).casefold()
        return any(w.casefold() in text for w in words)

    def is_own_host(self, host: str) -> bool:
        """Is ``host`` one whose links are never results (``own_hosts``: a host and its
        subdomains, or ``name.*``: that name under any public suffix, and its subdomains)?"""
        return _host_in(host, self.definition.own_hosts)


def _host_in(host: str, entries: list[str], subdomains: bool = True) -> bool:
    """Is ``host`` one of ``entries`` (a host, or ``name.*``: that name under a public
    suffix of one or two labels), or with ``subdomains`` a subdomain of one?"""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    for entry in entries:
        if entry.endswith(".*"):
            name = entry[:-2].split(".")
            starts = range(len(labels) - len(name)) if subdomains else range(1)
            for i in starts:
                suffix = len(labels) - i - len(name)
                if labels[i:i + len(name)] == name and 1 <= suffix <= 2:
                    return True
        elif host == entry or (subdomains and host.endswith("." + entry)):
            return True
    return False


def _path_under(path: str, prefix: str) -> bool:
    """``/search`` is that page only (``developers.google.com/search/docs`` is a page like
    any other); a prefix ending in ``/`` covers everything below it (``/maps/place/``);
    ``/`` alone is the home page."""
    if prefix.endswith("/") and prefix != "/":
        return path.startswith(prefix)
    return path == prefix


class _Values(dict[str, str | None]):
    """Template values: an absent (None) variable raises KeyError, so the parameter goes."""

    def __missing__(self, key: str) -> str:
        raise KeyError(key)

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value


def _under(node: Node | None, marked: set[int], stop: int | None = None) -> bool:
    """Is ``node`` or one of its ancestors (below the node ``stop``) in ``marked``?"""
    while node is not None and node.mem_id != stop:
        if node.mem_id in marked:
            return True
        node = node.parent
    return False


def _nearest(node: Node | None, marked: set[int]) -> int | None:
    """``node`` or its nearest ancestor in ``marked``."""
    while node is not None and node.mem_id not in marked:
        node = node.parent
    return node.mem_id if node is not None else None


def _packs(page: PageSelector, packs: Packs) -> list[Node]:
    """The blocks that are packs by their shape (see ``Packs``): for each group of media
    links, the smallest block around them with a heading of its own, unless that block
    holds a result snippet (then they are parts of results: thumbnails, key moments)."""
    found: dict[int, Node] = {}
    for area in page.css(packs.within):
        stop = area.mem_id
        media_links = [a for a in area.css("a[href]")
                       if a.css_first(packs.media) is not None or _DURATION.search(a.text())]
        places: dict[int, set[str]] = {}  # block -> the places its media links lead to
        for link in media_links:
            place = _place(link.attributes.get("href") or "")
            node = link.parent
            while node is not None and node.mem_id != stop:
                places.setdefault(node.mem_id, set()).add(place)
                node = node.parent
        seen: dict[int, Node | None] = {}  # a block's verdict, once (links share blocks)
        for link in media_links:
            block = _pack_around(link, stop, places, packs, seen)
            if block is not None:
                found[block.mem_id] = block
    return list(found.values())


_OFFSETS = frozenset({"t", "start", "time_continue"})


def _place(href: str) -> str:
    """Where a media link leads, as a pack counts places: one video's key moments (the same
    video at other times, ``&t=95``) are one place."""
    parts = urlsplit(href)
    query = "&".join(p for p in parts.query.split("&") if p.split("=")[0] not in _OFFSETS)
    return f"{parts.netloc}{parts.path}?{query}"


_GO_ON = object()  # a block that is neither a pack nor a result's: look further up


def _pack_around(link: Node, stop: int, places: dict[int, set[str]], packs: Packs,
                 seen: dict[int, Any]) -> Node | None:
    """The pack ``link`` belongs to, if it is in one (``seen``: verdicts per block)."""
    node = link.parent
    while node is not None and node.mem_id != stop:
        key = node.mem_id
        if key not in seen:
            seen[key] = _verdict(node, places, packs)
        if seen[key] is not _GO_ON:
            return seen[key] if isinstance(seen[key], Node) else None
        node = node.parent
    return None


def _verdict(node: Node, places: dict[int, set[str]], packs: Packs) -> Any:
    """``node`` itself if it is a pack, None if it is a result's block (its thumbnails, key
    moments), ``_GO_ON`` otherwise."""
    if node.css_first(packs.snippet) is not None:
        return None
    count = len(places.get(node.mem_id, ()))
    if count >= packs.min_links and _own_heading(node, packs.heading):
        # results describe themselves in prose beside their links (a snippet whose markup
        # the definition may not know); a pack's cards are links, little else
        return None if _prose(node) >= PROSE_PER_RESULT * count else node
    return _GO_ON


PROSE_PER_RESULT = 40  # characters of text outside links per item that make a block results


def _prose(block: Node) -> int:
    """How much text ``block`` holds outside its links (whitespace folded)."""
    inside = sum(len(" ".join(a.text(separator=" ").split())) for a in block.css("a[href]"))
    return max(0, len(" ".join(block.text(separator=" ").split())) - inside)


def _own_heading(block: Node, selector: str) -> bool:
    """Does ``block`` hold a heading that is not inside a link (not a result's title)?"""
    return any(not _inside_link(heading, block.mem_id) for heading in block.css(selector))


def _inside_link(node: Node, stop: int) -> bool:
    current: Node | None = node
    while current is not None and current.mem_id != stop:
        if current.tag == "a" and current.attributes.get("href"):
            return True
        current = current.parent
    return False


def _matches(page: PageSelector, tree: LexborHTMLParser, markers: Markers) -> bool:
    if any(page.exists(s) for s in markers.css):
        return True
    if not markers.text:
        return False
    scopes = page.css(markers.within) if markers.within else [tree.body]
    text = " ".join(s.text(separator=" ") for s in scopes if s is not None).casefold()
    text = " ".join(text.split())
    return any(" ".join(t.casefold().split()) in text for t in markers.text)


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
