"""What a parser makes of one results page, and how it says the page is not one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

from domain.errors import AutomationError


class SerpError(AutomationError):
    """The page is not a results page we can read (blocked, captcha, changed markup):
    the search failed. Never read as "not ranked"."""

    code = "serp_unreadable"


class SerpBlockedError(SerpError):
    """The engine answered with a captcha, consent wall or anomaly page."""

    code = "serp_blocked"


@dataclass(frozen=True)
class SerpPage:
    """Organic result URLs in page order (ads and engine widgets left out)."""

    results: list[str]
    no_results: bool = False  # the engine said so: an empty result list is then a real answer
    has_next: bool = False


def absolute(base: str, href: str) -> str:
    """``href`` resolved against the page URL."""
    return urljoin(base, href)


def unwrap(url: str) -> str:
    """The destination of an engine's click-tracking redirect, or ``url`` itself.

    DuckDuckGo ``/l/?uddg=``, Google ``/url?q=``, Bing ``/ck/a?...&u=a1<base64url>``. We
    only read the destination; we never follow the redirect (no clicks on results)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.path.startswith("/l/") and "uddg" in query:
        return query["uddg"][0]
    if parts.path == "/url" and ("q" in query or "url" in query):
        return (query.get("q") or query["url"])[0]
    if parts.path == "/ck/a" and "u" in query:
        token = query["u"][0]
        if token.startswith("a1"):
            token = token[2:]
        try:
            return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return url
    return url


def organic(urls: list[str]) -> list[str]:
    """Keep http(s) results, drop exact repeats (sitelinks of the same URL)."""
    seen: set[str] = set()
    kept = []
    for url in urls:
        if urlsplit(url).scheme in ("http", "https") and url not in seen:
            seen.add(url)
            kept.append(url)
    return kept
