"""Handlers of the ``tab:*``, ``privacy:*`` and ``session:*`` channels.

The browser side starts on demand: the first tab command starts the tab supervisor, and the
first tab launches Chromium.
"""

from __future__ import annotations

from typing import Any

from actors.tab_supervisor import assign_tab_proxy, close_tab, navigate, open_tab
from actors.tab_supervisor import load_session as load_tab_session
from domain import rules
from domain.errors import ValidationError
from domain.results import Ack
from domain.tab_commands import (
    AssignTabProxy,
    CloseTab,
    CreateTab,
    GetPrivacyStats,
    GoBack,
    GoForward,
    ListProfiles,
    ListSessions,
    ListTabs,
    LoadSession,
    NavigateTab,
    ReloadTab,
    RemoveProfile,
    SaveSession,
    SetFingerprint,
    ToggleTrackerBlocking,
    ToggleWebRTC,
    UpdateTab,
)
from projections import queries
from service.handlers.deps import TIMEOUT, Deps


def _check_target(url: str | None, deps: Deps) -> None:
    if url is not None:
        rules.require_public_target(url, deps.egress, "url")


def create(c: CreateTab, deps: Deps) -> Any:
    """Open a tab (and navigate it when a URL is given)."""
    _check_target(c.url, deps)
    actor, info = open_tab(deps.tabs(), c.url, c.profile, c.proxy, c.country, c.label,
                           TIMEOUT)
    if c.url is None:
        return info
    return navigate(actor, c.url)


def close(c: CloseTab, deps: Deps) -> Any:
    """Close a tab."""
    return close_tab(deps.tabs(), c.tab_id, "closed by user", TIMEOUT)


def navigate_tab(c: NavigateTab, deps: Deps) -> Any:
    """Load a URL in a tab."""
    _check_target(c.url, deps)
    return deps.tab_handles.actor(c.tab_id).navigate(c.url).get(timeout=TIMEOUT)


def update(c: UpdateTab, deps: Deps) -> Any:
    """Relabel a tab."""
    return deps.tab_handles.actor(c.tab_id).update(c.label).get(timeout=TIMEOUT)


def assign_proxy(c: AssignTabProxy, deps: Deps) -> Any:
    """Move a tab to another proxy (a new context)."""
    return assign_tab_proxy(deps.tabs(), c.tab_id, c.proxy, c.country, TIMEOUT)


def back(c: GoBack, deps: Deps) -> Any:
    """History back."""
    return deps.tab_handles.actor(c.tab_id).back().get(timeout=TIMEOUT)


def forward(c: GoForward, deps: Deps) -> Any:
    """History forward."""
    return deps.tab_handles.actor(c.tab_id).forward().get(timeout=TIMEOUT)


def reload(c: ReloadTab, deps: Deps) -> Any:
    """Reload a tab."""
    return deps.tab_handles.actor(c.tab_id).reload().get(timeout=TIMEOUT)


def list_tabs(c: ListTabs, deps: Deps) -> list[dict[str, Any]]:
    """Tabs from the view (open ones unless ``include_closed``)."""
    where = [] if c.include_closed else ["state=open"]
    found: list[dict[str, Any]] = deps.reads.query(queries.query, "tabs", where, c.limit)
    return found


def set_fingerprint(c: SetFingerprint, deps: Deps) -> Any:
    """Create or change a privacy profile."""
    return deps.guard.set_fingerprint(c).get(timeout=TIMEOUT)


def toggle_webrtc(c: ToggleWebRTC, deps: Deps) -> Any:
    """WebRTC leak guard on or off for a profile."""
    return deps.guard.toggle_webrtc(c).get(timeout=TIMEOUT)


def toggle_blocking(c: ToggleTrackerBlocking, deps: Deps) -> Any:
    """Tracker blocking on or off for a profile."""
    return deps.guard.toggle_blocking(c).get(timeout=TIMEOUT)


def privacy_stats(c: GetPrivacyStats, deps: Deps) -> dict[str, Any]:
    """Blocked and allowed requests per tab: recorded counts plus those not yet recorded."""
    rows = deps.reads.query(queries.query, "tabs", [f"id={c.tab_id}"] if c.tab_id else [],
                            100_000)
    recorded = {r["id"]: (r["trackers_blocked"], r["requests_allowed"]) for r in rows}
    live = deps.tabs().stats(c.tab_id).get(timeout=TIMEOUT) if rows or c.tab_id else []
    pending = {s["tab_id"]: s for s in live}
    tabs = []
    for tab_id, (blocked, allowed) in recorded.items():
        extra = pending.get(tab_id, {})
        tabs.append({"tab_id": tab_id, "blocked": blocked + extra.get("blocked", 0),
                     "allowed": allowed + extra.get("allowed", 0),
                     "unrecorded_blocked": extra.get("blocked", 0)})
    return {"blocked": sum(t["blocked"] for t in tabs),
            "allowed": sum(t["allowed"] for t in tabs), "tabs": tabs}


def remove_profile(c: RemoveProfile, deps: Deps) -> Ack:
    """Remove a profile unless a schedule or an open tab uses it (say which)."""
    users = [f"schedule {n!r}" for n in deps.scheduler.using_profile(c.profile).get(timeout=60)]
    users += [f"tab {t}" for t in deps.ops.tabs_open_with(c.profile)]
    if users:
        raise ValidationError(f"profile {c.profile!r} is in use by "
                              f"{', '.join(users[:5])}{' ...' if len(users) > 5 else ''}"
                              ": remove or change those first", field="profile")
    removed: Ack = deps.guard.remove(c.profile).get(timeout=60)
    return removed


def save_session(c: SaveSession, deps: Deps) -> Any:
    """Save the open tabs (or those named) as a session."""
    return deps.tabs().save_session(
        c.name, list(c.tab_ids) if c.tab_ids else None).get(timeout=TIMEOUT)


def load_session(c: LoadSession, deps: Deps) -> Any:
    """Reopen a saved session's tabs."""
    return load_tab_session(deps.tabs(), c.name, TIMEOUT)


def list_profiles(_c: ListProfiles, deps: Deps) -> list[dict[str, Any]]:
    """Privacy profiles from the view, by name."""
    return [row.model_dump() for row in deps.reads.query(queries.list_profiles)]


def list_sessions(_c: ListSessions, deps: Deps) -> list[dict[str, Any]]:
    """Saved sessions from the view."""
    found: list[dict[str, Any]] = deps.reads.query(queries.query, "sessions", [], 10_000)
    return found


HANDLERS = {
    CreateTab: create, CloseTab: close, NavigateTab: navigate_tab, UpdateTab: update,
    AssignTabProxy: assign_proxy, GoBack: back, GoForward: forward, ReloadTab: reload,
    ListTabs: list_tabs, SetFingerprint: set_fingerprint, ToggleWebRTC: toggle_webrtc,
    ToggleTrackerBlocking: toggle_blocking, GetPrivacyStats: privacy_stats,
    RemoveProfile: remove_profile, SaveSession: save_session, LoadSession: load_session,
    ListSessions: list_sessions, ListProfiles: list_profiles,
}
