"""What a parser makes of one results page, and how it says the page is not one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from domain.errors import AutomationError


class SerpError(AutomationError):
    """The page is not a results page we can read (blocked, captcha, changed markup):
    the search failed. Never read as "not ranked"."""

    code = "serp_unreadable"


class SerpBlockedError(SerpError):
    """The engine answered with a captcha, consent wall or anomaly page."""

    code = "serp_blocked"


@dataclass(frozen=True)
class SerpResult:
    """One organic result: where it leads and the title it showed."""

    url: str
    title: str = ""


@dataclass(frozen=True)
class SerpPage:
    """Organic results in page order (ads and engine widgets left out), the SERP features
    the page showed (feature -> count), which of the engine's layouts read it, and what the
    page showed besides its results (``notices``: ``consent``, a consent dialog over them)."""

    results: list[SerpResult]
    no_results: bool = False  # the engine said so: an empty result list is then its answer
    has_next: bool = False
    features: dict[str, int] = field(default_factory=dict)
    layout: str = ""
    notices: tuple[str, ...] = ()

    @property
    def urls(self) -> list[str]:
        """The result URLs in page order."""
        return [r.url for r in self.results]


def absolute(base: str, href: str) -> str:
    """``href`` resolved against the page URL."""
    return urljoin(base, href)


def unwrap(url: str) -> str:
    """The destination of an engine's click-tracking redirect, or ``url`` itself.

    DuckDuckGo ``/l/?uddg=``, Google ``/url?q=``, Bing ``/ck/a?...&u=a1<base64url>``, Yahoo
    ``.../RU=<quoted>/RK=...``, Yandex ``/redir?url=``. We only read the destination; we never
    follow the redirect (no clicks on results)."""
    parts = urlsplit(url)
    if "/RU=" in parts.path:
        target = unquote(parts.path.split("/RU=", 1)[1].split("/R", 1)[0])
        return target if target.startswith(("http://", "https://")) else url
    query = parse_qs(parts.query)
    if parts.path.startswith("/l/") and "uddg" in query:
        return query["uddg"][0]
    if parts.path == "/url" and ("q" in query or "url" in query):
        return (query.get("q") or query["url"])[0]
    if parts.path == "/redir" and "url" in query:
        target = query["url"][0]
        return target if target.startswith(("http://", "https://")) else url
    if parts.path == "/ck/a" and "u" in query:
        token = query["u"][0]
        if token.startswith("a1"):
            token = token[2:]
        try:
            return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return url
    return url
