"""Handlers of the ``tab:*``, ``privacy:*`` and ``session:*`` channels for the dispatcher.

The browser side starts on demand: the first tab command starts the engine loop, and the
first tab launches Chromium.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pykka

from actors.privacy_guard import PrivacyGuardActor
from actors.tab_actor import TabActor
from actors.tab_supervisor import TabSupervisorActor, navigate
from adapters.config import Settings
from domain import rules
from domain.tab_commands import (
    AssignTabProxy,
    CloseTab,
    CreateTab,
    GetPrivacyStats,
    GoBack,
    GoForward,
    ListSessions,
    ListTabs,
    LoadSession,
    NavigateTab,
    ReloadTab,
    SaveSession,
    SetFingerprint,
    ToggleTrackerBlocking,
    ToggleWebRTC,
    UpdateTab,
)
from projections import queries
from projections.sql import Connection

Handler = Callable[[Any], Any]


TIMEOUT = 300.0


class TabChannels:
    """Turns tab/privacy/session commands into actor calls and read-model queries."""

    def __init__(self, tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]],
                 guard: pykka.ActorProxy[PrivacyGuardActor],
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None], settings: Settings) -> None:
        self._tabs = tabs
        self._guard = guard
        self._read = read
        self._settle = settle
        self._egress = settings.egress_policy()
        # Tab actors by id: navigating a tab asks its own actor, not the supervisor.
        self._actors: dict[str, pykka.ActorProxy[TabActor]] = {}

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        tab = self._tab
        return {
            CreateTab: self._create,
            CloseTab: lambda c: self._tabs().close(c.tab_id).get(timeout=TIMEOUT),
            NavigateTab: self._navigate,
            UpdateTab: lambda c: tab(c).update(c.label).get(timeout=TIMEOUT),
            AssignTabProxy: lambda c: self._tabs().assign_proxy(
                c.tab_id, c.proxy, c.country).get(timeout=TIMEOUT),
            GoBack: lambda c: tab(c).back().get(timeout=TIMEOUT),
            GoForward: lambda c: tab(c).forward().get(timeout=TIMEOUT),
            ReloadTab: lambda c: tab(c).reload().get(timeout=TIMEOUT),
            ListTabs: self._list,
            SetFingerprint: lambda c: self._guard.set_fingerprint(c).get(timeout=TIMEOUT),
            ToggleWebRTC: lambda c: self._guard.toggle_webrtc(c).get(timeout=TIMEOUT),
            ToggleTrackerBlocking: lambda c: self._guard.toggle_blocking(c).get(timeout=TIMEOUT),
            GetPrivacyStats: self._stats,
            SaveSession: lambda c: self._tabs().save_session(
                c.name, list(c.tab_ids) if c.tab_ids else None).get(timeout=TIMEOUT),
            LoadSession: lambda c: self._tabs().load_session(c.name).get(timeout=TIMEOUT),
            ListSessions: self._sessions,
        }

    def _tab(self, c: Any) -> pykka.ActorProxy[TabActor]:
        return self._actor(c.tab_id)

    def _actor(self, tab_id: str) -> pykka.ActorProxy[TabActor]:
        actor = self._actors.get(tab_id)
        if actor is None or not actor.actor_ref.is_alive():
            actor = self._tabs().tab(tab_id).get(timeout=TIMEOUT)
            if len(self._actors) > 10_000:
                self._actors.clear()
            self._actors[tab_id] = actor
        return actor

    def _check_target(self, url: str | None) -> None:
        if url is not None:
            rules.require_public_target(url, self._egress, "url")

    def _create(self, c: CreateTab) -> Any:
        self._check_target(c.url)
        info = self._tabs().create(c.url, c.profile, c.proxy, c.country,
                                   c.label).get(timeout=TIMEOUT)
        if c.url is None:
            return info
        return navigate(self._actor(info["id"]), c.url)

    def _navigate(self, c: NavigateTab) -> Any:
        self._check_target(c.url)
        return self._tab(c).navigate(c.url).get(timeout=TIMEOUT)

    def _list(self, c: ListTabs) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            where = [] if c.include_closed else ["state=open"]
            return queries.query(conn, "tabs", where, c.limit)

    def _sessions(self, _c: ListSessions) -> list[dict[str, Any]]:
        self._settle()
        with self._read() as conn:
            return queries.query(conn, "sessions", [], 10_000)

    def _stats(self, c: GetPrivacyStats) -> dict[str, Any]:
        self._settle()
        with self._read() as conn:
            rows = queries.query(conn, "tabs", [f"id={c.tab_id}"] if c.tab_id else [], 100_000)
        recorded = {r["id"]: (r["trackers_blocked"], r["requests_allowed"]) for r in rows}
        live = self._tabs().stats(c.tab_id).get(timeout=TIMEOUT) if rows or c.tab_id else []
        pending = {s["tab_id"]: s for s in live}
        tabs = []
        for tab_id, (blocked, allowed) in recorded.items():
            extra = pending.get(tab_id, {})
            tabs.append({"tab_id": tab_id, "blocked": blocked + extra.get("blocked", 0),
                         "allowed": allowed + extra.get("allowed", 0),
                         "unrecorded_blocked": extra.get("blocked", 0)})
        return {"blocked": sum(t["blocked"] for t in tabs),
                "allowed": sum(t["allowed"] for t in tabs), "tabs": tabs}
