"""``Deps``: everything a command handler may use, built once by the runtime.

Handlers are plain functions ``handler(command, deps) -> reply``; they reach actors through
the proxies here, read views through ``reads`` (settled first), and what only the process
knows (status, backups, the projection runner) through ``ops``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pykka

from actors.alert_courier import AlertCourier
from actors.alert_rules import AlertRulesActor
from actors.creator_runner import CreatorRunner
from actors.creator_watch import CreatorWatchActor
from actors.health_actor import HealthCheckActor
from actors.privacy_guard import PrivacyGuardActor
from actors.proxy_pool import ProxyPoolActor
from actors.rank_tracker import RankTrackerActor
from actors.rotation_actor import RotationActor
from actors.scheduler import SchedulerActor
from actors.tab_supervisor import TabSupervisorActor
from adapters.config import Settings
from adapters.evidence import EvidenceStore
from domain.egress import EgressPolicy
from domain.host_commands import CreateBackup
from domain.progress import Progress
from domain.projection_commands import Rebuilt, ViewPosition
from service.handlers.handles import TIMEOUT, ProxyHandles, TabHandles
from service.reparse import Reparser
from service.views import SettledReads

__all__ = ["TIMEOUT", "Deps", "ProcessOps"]


class ProcessOps(Protocol):
    """What only the process that opened the store can do or tell (the runtime does it;
    a host adds what only a host knows to the status)."""

    def status(self) -> dict[str, Any]:
        """The ``host:status`` reply."""

    def settled(self) -> int:
        """Bring the views to the store head; that head."""

    def backup(self, command: CreateBackup) -> dict[str, Any]:
        """Copy the data dir as ``command`` says."""

    def view_positions(self) -> list[ViewPosition]:
        """Each view's position, head and lag."""

    def rebuild(self, views: list[str] | None, progress: Progress | None) -> Rebuilt:
        """Rebuild the named views (all when None) from the event store."""

    def tabs_open_with(self, profile: str) -> list[str]:
        """Open tabs of this process using ``profile`` (none before the first tab)."""


@dataclass
class Deps:
    """The actors, reads and settings command handlers use (one per runtime)."""

    settings: Settings
    reads: SettledReads
    ops: ProcessOps
    pool: pykka.ActorProxy[ProxyPoolActor]
    rotation: pykka.ActorProxy[RotationActor]
    health: pykka.ActorProxy[HealthCheckActor]
    guard: pykka.ActorProxy[PrivacyGuardActor]
    tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]]  # started on first use
    tracker: pykka.ActorProxy[RankTrackerActor]
    scheduler: pykka.ActorProxy[SchedulerActor]
    creators: pykka.ActorProxy[CreatorWatchActor]
    creator_runner: CreatorRunner
    alert_rules: pykka.ActorProxy[AlertRulesActor]
    courier: AlertCourier
    evidence: EvidenceStore
    reparser: Reparser
    max_cached_actors: int
    egress: EgressPolicy = field(init=False)  # what vipb may reach directly
    proxy_handles: ProxyHandles = field(init=False)  # actors and endpoints at hand
    tab_handles: TabHandles = field(init=False)

    def __post_init__(self) -> None:
        self.egress = self.settings.egress_policy()
        self.proxy_handles = ProxyHandles(self.pool, self.max_cached_actors)
        self.tab_handles = TabHandles(self.tabs)
