"""Read models: views that turn events into plain SQLite tables, a runner, and queries.

The names below load their modules on first use (PEP 562): a process that needs only the
SQL helpers or the queries (every CLI command talking to a host) does not build every
view's event handlers, which took ~0.1 s of each command's start."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projections.activity import ActivityView
    from projections.alerts import AlertsView
    from projections.creators import CreatorsView
    from projections.proxies import ProxiesView
    from projections.rank import RankTrackingView, SchedulesView
    from projections.rotation import RotationView
    from projections.rotation_events import RotationEventsView
    from projections.runner import EventSource, ProjectionRunner, ViewStatus
    from projections.tabs import PrivacyProfilesView, SessionsView, TabsView
    from projections.usage_and_breakers import BreakersView, UsageStatsView
    from projections.view import View

    ALL_VIEWS: tuple[type[View], ...]

_HOMES = {
    "ActivityView": "activity", "AlertsView": "alerts", "CreatorsView": "creators",
    "ProxiesView": "proxies", "RankTrackingView": "rank", "SchedulesView": "rank",
    "RotationView": "rotation", "RotationEventsView": "rotation_events",
    "EventSource": "runner", "ProjectionRunner": "runner", "ViewStatus": "runner",
    "PrivacyProfilesView": "tabs", "SessionsView": "tabs", "TabsView": "tabs",
    "BreakersView": "usage_and_breakers", "UsageStatsView": "usage_and_breakers",
    "View": "view",
}
_ORDER = ("ProxiesView", "RotationView", "ActivityView", "RotationEventsView",
          "UsageStatsView", "BreakersView", "TabsView", "PrivacyProfilesView", "SessionsView",
          "RankTrackingView", "SchedulesView", "CreatorsView", "AlertsView")


def __getattr__(name: str) -> Any:
    """Load ``name``'s module when it is first asked for (``ALL_VIEWS``: every view, in
    the order they are rebuilt)."""
    if name == "ALL_VIEWS":
        value: Any = tuple(__getattr__(view) for view in _ORDER)
    elif name in _HOMES:
        value = getattr(importlib.import_module(f"projections.{_HOMES[name]}"), name)
    else:
        raise AttributeError(f"module 'projections' has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "ALL_VIEWS",
    "ActivityView",
    "AlertsView",
    "BreakersView",
    "CreatorsView",
    "EventSource",
    "PrivacyProfilesView",
    "ProjectionRunner",
    "ProxiesView",
    "RankTrackingView",
    "RotationEventsView",
    "RotationView",
    "SchedulesView",
    "SessionsView",
    "TabsView",
    "UsageStatsView",
    "View",
    "ViewStatus",
]
