"""The ``Tab`` and ``BrowsingSession`` aggregates: what tabs did, on record."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id

_SEARCH_LABEL = re.compile(r"rank [0-9a-f]{8}( re-check)?")  # what search attempts label tabs


class Tab(Aggregate):
    """One browser tab: its profile, its proxy and everything it loaded."""

    @event("TabOpened")
    def __init__(self, id: UUID, profile_id: str, proxy_id: str | None, label: str | None,
                 proxy_reason: str, purpose: str | None = None) -> None:
        """``purpose``: None for a tab someone opened; what a task opened it for (``search``,
        ``creator check``) otherwise. A task's tab lives as long as one attempt: it is never
        reopened after a restart (tabs opened before purposes were recorded: None)."""
        self.profile_id = profile_id
        self.proxy_id = proxy_id
        self.label = label
        self.purpose = purpose
        self.url: str | None = None
        self.history: list[str] = []
        self.cursor = -1  # index in ``history`` of the page the tab shows (-1: none yet)
        self.closed = False
        self.crashes = 0

    @property
    def task_purpose(self) -> str | None:
        """What task the tab was opened for (None: someone's own tab). Tabs opened before
        purposes were recorded are known by the labels tasks gave them."""
        if self.purpose is not None:
            return str(self.purpose)
        label = self.label or ""
        if _SEARCH_LABEL.fullmatch(label):
            return "search"
        if label.startswith("creator ") and len(label) > len("creator "):
            return "creator check"
        return None

    @event("TabNavigated")
    def navigated(self, url: str, status: int | None, title: str, latency_ms: float,
                  proxy_id: str | None, action: str) -> None:
        """A navigation finished (``action``: goto, back, forward, reload, restore)."""
        self.url = url
        if action == "back":
            self.cursor = max(0, self.cursor - 1)
        elif action == "forward":
            self.cursor = min(len(self.history) - 1, self.cursor + 1)
        elif action == "goto" or (action == "restore" and not self.history):
            del self.history[self.cursor + 1:]  # a new page drops what was ahead of it
            if not self.history or self.history[-1] != url:
                self.history.append(url)
            self.cursor = len(self.history) - 1

    @property
    def previous_url(self) -> str | None:
        """The page ``back`` leads to (None: this is the first)."""
        return self.history[self.cursor - 1] if self.cursor > 0 else None

    @property
    def next_url(self) -> str | None:
        """The page ``forward`` leads to (None: nothing ahead)."""
        ahead = self.cursor + 1
        return self.history[ahead] if 0 <= ahead < len(self.history) else None

    @event("TabNavigationFailed")
    def navigation_failed(self, url: str, error: str, proxy_id: str | None,
                          action: str) -> None:
        """A navigation did not complete; ``error`` is Chromium's reason."""

    @event("TabProxyAssigned")
    def proxy_assigned(self, proxy_id: str | None, reason: str) -> None:
        """The tab now goes through ``proxy_id`` (None: direct, by explicit request)."""
        self.proxy_id = proxy_id

    @event("TabUpdated")
    def updated(self, label: str | None) -> None:
        """The tab's label changed."""
        self.label = label

    @event("TabCrashed")
    def crashed(self, reason: str) -> None:
        """The browser under this tab died; the tab is reopened."""
        self.crashes += 1

    @event("TrackerStatsRecorded")
    def tracker_stats(self, blocked: int, allowed: int, top_domains: dict[str, int]) -> None:
        """A periodic summary of the tracker blocker for this tab (never per request)."""

    def close(self, reason: str) -> bool:
        """Close the tab; False (no event) when it is closed already."""
        if self.closed:
            return False
        self._closed(reason=reason)
        return True

    @event("TabClosed")
    def _closed(self, reason: str) -> None:
        """The tab was closed."""
        self.closed = True


def session_id(name: str) -> UUID:
    """Browsing sessions are unique by name."""
    return named_id("browsing-session", name.casefold())


class BrowsingSession(Aggregate):
    """A named set of tabs (URL, proxy, profile) that can be saved and restored.

    Created empty, then every save is a ``SessionSaved`` (the first one included)."""

    @event("SessionCreated")
    def __init__(self, id: UUID, name: str) -> None:
        self.name = name
        self.tabs: list[dict[str, Any]] = []

    @event("SessionSaved")
    def save(self, tabs: list[dict[str, Any]]) -> None:
        """Overwrite the saved tabs."""
        self.tabs = tabs

    @event("SessionLoaded")
    def loaded(self, tab_ids: list[str]) -> None:
        """The session was restored as these tabs."""
