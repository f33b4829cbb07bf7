"""Read models: views that turn events into plain SQLite tables, a runner, and queries."""

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

ALL_VIEWS: tuple[type[View], ...] = (
    ProxiesView, RotationView, ActivityView, RotationEventsView, UsageStatsView, BreakersView,
    TabsView, PrivacyProfilesView, SessionsView, RankTrackingView, SchedulesView, CreatorsView,
    AlertsView,
)

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
