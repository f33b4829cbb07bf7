"""Tracker blocking with Brave's filter-list engine (``adblock``), EasyList-format lists."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from urllib.parse import urljoin

from adapters.egress import EgressGuard, EgressRefused, guarded_request
from adapters.proxycheck._http import (
    BodyTooLarge,
    DroppedResponse,
    GarbageResponse,
    HttpResponse,
)
from adapters.trust import require_trusted
from domain.egress import EgressPolicy
from domain.errors import ValidationError

# Playwright resource types -> the request types filter lists are written against.
_REQUEST_TYPES = {
    "document": "document", "stylesheet": "stylesheet", "image": "image", "media": "media",
    "font": "font", "script": "script", "xhr": "xmlhttprequest", "fetch": "xmlhttprequest",
    "websocket": "websocket", "eventsource": "other", "manifest": "other", "texttrack": "other",
    "ping": "ping",
}
MAX_LIST_BYTES = 20 * 1024 * 1024


def shipped_list() -> str:
    """The small list that ships with vipb (tests and samples)."""
    return (files("adapters.browser") / "filters" / "vipb-basic.txt").read_text("utf-8")


def read_list(source: str, timeout: float = 30.0, egress: EgressGuard | None = None) -> str:
    """The text of a filter list from a file path or an http(s) URL. URLs are fetched through
    the egress guard (public addresses only unless allowed; every redirect checked again)."""
    if source.startswith(("http://", "https://")):
        guard = egress or EgressGuard(EgressPolicy())
        data = asyncio.run(_fetch(source, source, guard, timeout))
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ValidationError(f"{source} is not a readable file", field="filter_lists")
        require_trusted(path, "filter list")  # it decides what tabs may load
        data = path.read_bytes()[: MAX_LIST_BYTES + 1]
    if len(data) > MAX_LIST_BYTES:
        raise ValidationError(f"{source} is larger than {MAX_LIST_BYTES} bytes",
                              field="filter_lists")
    return data.decode("utf-8", errors="replace")


async def _fetch(source: str, url: str, guard: EgressGuard, timeout: float,
                 redirects: int = 5) -> bytes:
    """GET ``url`` and follow up to ``redirects`` redirects, each connection through
    ``guard``; a body over ``MAX_LIST_BYTES`` is refused."""
    for _ in range(redirects + 1):
        response = await _get(source, url, guard, timeout)
        if response.status in (301, 302, 303, 307, 308) and response.headers.get("location"):
            url = urljoin(url, response.headers["location"])
            continue
        if response.status != 200:
            raise ValidationError(f"{source}: HTTP {response.status}", field="filter_lists")
        return response.body
    raise ValidationError(f"{source}: more than {redirects} redirects", field="filter_lists")


async def _get(source: str, url: str, guard: EgressGuard, timeout: float) -> HttpResponse:
    """One GET through ``guard``, the response read up to the size limit."""
    try:
        return await guarded_request(guard, "GET", url, [("User-Agent", "vipb"),
                                                         ("Accept", "*/*")],
                                     timeout=timeout, max_body=MAX_LIST_BYTES)
    except ValueError:
        raise ValidationError(f"{source}: {url!r} is not an http(s) URL",
                              field="filter_lists") from None
    except EgressRefused as exc:
        raise ValidationError(f"{source}: egress guard refused {exc.message}",
                              field="filter_lists") from None
    except BodyTooLarge:
        raise ValidationError(f"{source} is larger than {MAX_LIST_BYTES} bytes",
                              field="filter_lists") from None
    except (OSError, TimeoutError, GarbageResponse, DroppedResponse) as exc:
        raise ValidationError(f"{source}: {exc or 'timed out'}", field="filter_lists") from None


class TrackerBlocker:
    """Decides whether a request is a tracker, per the loaded filter lists."""

    def __init__(self, lists: Sequence[str]) -> None:
        import adblock  # compiled engine: load only when blocking is used

        filters = adblock.FilterSet()
        self.rules = 0
        for text in lists:
            filters.add_filter_list(text)
            self.rules += sum(1 for line in text.splitlines()
                              if line.strip() and not line.startswith(("!", "[")))
        self._engine = adblock.Engine(filter_set=filters, optimize=True)

    @classmethod
    def from_sources(cls, sources: Sequence[str],
                     egress: EgressGuard | None = None) -> TrackerBlocker:
        """Load configured lists (files, or URLs through ``egress``); the shipped list when
        none is configured."""
        return cls([read_list(s, egress=egress) for s in sources] if sources
                   else [shipped_list()])

    def blocks(self, url: str, source_url: str, resource_type: str) -> bool:
        """Should this request be blocked?"""
        if url.startswith(("data:", "blob:")):
            return False
        result = self._engine.check_network_urls(
            url, source_url or url, _REQUEST_TYPES.get(resource_type, "other"))
        return bool(result.matched) and result.exception is None
