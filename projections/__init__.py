"""Read models: views that turn events into plain SQLite tables, a runner, and queries."""

from projections.activity import ActivityView
from projections.proxies import ProxiesView
from projections.rotation import RotationView
from projections.runner import EventSource, ProjectionRunner, ViewStatus
from projections.view import View

ALL_VIEWS: tuple[type[View], ...] = (ProxiesView, RotationView, ActivityView)

__all__ = [
    "ALL_VIEWS",
    "ActivityView",
    "EventSource",
    "ProjectionRunner",
    "ProxiesView",
    "RotationView",
    "View",
    "ViewStatus",
]
