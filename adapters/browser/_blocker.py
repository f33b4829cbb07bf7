"""Tracker blocking with Brave's filter-list engine (``adblock``), EasyList-format lists."""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

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


def read_list(source: str, timeout: float = 30.0) -> str:
    """The text of a filter list from a file path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=timeout) as response:
            data: bytes = response.read(MAX_LIST_BYTES + 1)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ValidationError(f"{source} is not a readable file", field="filter_lists")
        data = path.read_bytes()[: MAX_LIST_BYTES + 1]
    if len(data) > MAX_LIST_BYTES:
        raise ValidationError(f"{source} is larger than {MAX_LIST_BYTES} bytes",
                              field="filter_lists")
    return data.decode("utf-8", errors="replace")


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
    def from_sources(cls, sources: Sequence[str]) -> TrackerBlocker:
        """Load configured lists (files or URLs); the shipped list when none is configured."""
        return cls([read_list(s) for s in sources] if sources else [shipped_list()])

    def blocks(self, url: str, source_url: str, resource_type: str) -> bool:
        """Should this request be blocked?"""
        if url.startswith(("data:", "blob:")):
            return False
        result = self._engine.check_network_urls(
            url, source_url or url, _REQUEST_TYPES.get(resource_type, "other"))
        return bool(result.matched) and result.exception is None
