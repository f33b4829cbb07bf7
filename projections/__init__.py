"""Read models: views that turn events into plain SQLite tables, a runner, and queries.

The names below load their modules on first use (PEP 562): a process that needs only the
SQL helpers or the queries (every CLI command talking to a host) does not build every
view's event handlers, which took ~0.1 s of each command's start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.lazy_exports import lazy_exports

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


_load = lazy_exports(__name__, _HOMES, globals())


def __getattr__(name: str) -> Any:
    """Load ``name``'s module when it is first asked for (``ALL_VIEWS``: every view, in
    the order they are rebuilt)."""
    if name != "ALL_VIEWS":
        return _load(name)
    views = tuple(_load(view) for view in _ORDER)
    globals()[name] = views
    return views


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
