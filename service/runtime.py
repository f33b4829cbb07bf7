"""The composition root: builds the store, secrets, projections, actors and dispatcher.

Only the CLI and the host entry point build a ``Runtime``. Every part can be overridden for
tests (e.g. another views list or batch size) through keyword arguments of ``Runtime.open``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pykka
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from actors.alert_courier import OUTBOX_BATCH, AlertCourier, DeliveryPolicy, FileLock
from actors.alert_rules import AlertRulesActor
from actors.audit_keeper import AuditKeeper
from actors.base import proxy_of
from actors.cancel import CancelToken
from actors.claims import Claims
from actors.creator_check import CreatorCheck
from actors.creator_runner import CreatorRunner
from actors.creator_watch import CreatorWatchActor
from actors.endpoint_index import EndpointIndex
from actors.health_actor import HealthCheckActor
from actors.privacy_guard import PrivacyGuardActor
from actors.proxy_pool import MAX_LIVE_PROXY_ACTORS, ProxyPoolActor
from actors.rank_tracker import RankTrackerActor
from actors.retries import RetryPolicy
from actors.rotation_actor import CandidateBox, RotationActor
from actors.route_planner import RoutePlanner
from actors.scheduler import SchedulerActor
from actors.supervision import Supervision, install, uninstall
from actors.tab_supervisor import TabSupervisorActor
from actors.writer import EventWriter
from adapters import pagefetch
from adapters.alerts import MailSender, WebhookSender
from adapters.backup import create_backup
from adapters.browser import BrowserEngine, Chromium
from adapters.config import DataPaths, Settings
from adapters.egress import EgressGuard
from adapters.secrets import (
    KEY_FILE,
    DataKeyStore,
    MasterKey,
    create_master_key,
    derive_key,
    load_master_key,
)
from adapters.serp import Engines
from adapters.store import (
    AuditChain,
    EventStoreApp,
    ShreddedEventError,
    StoreBackend,
    open_backend,
    signing_key,
    topics_of,
)
from adapters.trust import require_own_data_dir
from domain import privacy
from domain.alert import Alert, AlertRule
from domain.creator import Creator, CreatorCheckTask
from domain.errors import DatabaseError, SecurityError, ValidationError, ViewsRebuiltError
from domain.events import EventClass, events_of
from domain.health_journal import HealthJournal
from domain.host_commands import CreateBackup
from domain.progress import Progress
from domain.projection_commands import (
    Rebuilt,
    ViewPosition,
)
from domain.rank import Schedule, SearchTask
from domain.tab import Tab
from projections import ALL_VIEWS, ProjectionRunner, View, rank_queries
from projections import creators as creator_queries
from projections import queries as proxy_queries
from projections.alerts import alert_outbox
from projections.rank import lease_text
from projections.sql import Connection
from service.dispatcher import Dispatcher
from service.event_follow import follow_committed
from service.handlers import Deps
from service.rate_limit import RateLimiter
from service.reparse import Reparser
from service.sealer import AuditSealer
from service.shared_state import SharedStateFollower
from service.status import runtime_status
from service.views import SettledReads

log = logging.getLogger(__name__)

T = TypeVar("T")
CHECKS_END = 30.0  # seconds a stopping runtime waits for creator checks to let go

# the events alert rules watch (what the alerts view may turn into an outbox row): outcomes,
# checks, and the end of a search (the last search of a schedule's run fires its digests)
ALERT_SOURCES = (*events_of(SearchTask, "PositionRecorded", "DomainNotRanked",
                            "SearchTaskCompleted", "SearchTaskCancelled", "SearchTaskFailed"),
                 *events_of(Creator, "CreatorChecked"))
# what start-up discovery reads from the log: the created event, then the ended ones
ALERTS_UNDELIVERED = events_of(Alert, "AlertTriggered", "AlertDelivered")
RULES = events_of(AlertRule, "AlertRuleAdded", "AlertRuleRemoved")
CREATORS = events_of(Creator, "CreatorAdded", "CreatorRemoved")
SCHEDULES = events_of(Schedule, "ScheduleCreated", "ScheduleRemoved")
TASKS_OPEN = events_of(SearchTask, "SearchTaskQueued", "SearchTaskCompleted",
                       "SearchTaskCancelled")
CHECKS_OPEN = events_of(CreatorCheckTask, "CreatorCheckQueued", "CreatorCheckFinished")
TABS_OPEN = events_of(Tab, "TabOpened", "TabClosed")
(STATUS_CHANGED,) = events_of(HealthJournal, "ProxyStatusChanged")
ALERT_DRAIN = 10.0  # seconds a closing runtime waits for alert deliveries due now
SETTLE_TIMEOUT = 60.0  # seconds a read waits for the views to reach the store head


class NotInitializedError(ValidationError):
    """The data dir has not been set up with ``vipb init``."""

    def __init__(self, root: Path) -> None:
        super().__init__(f"no vipb data in {root}: run `vipb init` first (or set --data-dir)")


class MasterKeyMissingError(SecurityError):
    """The data dir holds encrypted data but no key source provides its master key."""

    code = "master_key_missing"

    def __init__(self, root: Path) -> None:
        super().__init__(
            f"{root} holds data but no master key was found: supply the key it was made "
            "with as $CREDENTIALS_DIRECTORY/vipb-master-key, VIPB_MASTER_KEY (base64), the "
            f"OS keyring, or {root / KEY_FILE} (mode 0600); `vipb init` never makes a new "
            "key for existing data")


def backend_for(root: Path, settings: Settings | None = None) -> StoreBackend:
    """The store of a data dir: ``settings.store`` (``VIPB_STORE``) or SQLite files in it."""
    settings = settings or Settings(data_dir=root)
    return open_backend(root, settings.store)


def master_key_for(root: Path, store: StoreBackend | None = None) -> MasterKey:
    """The data dir's master key from the source chain; a clear error when its store has
    data and no source has the key, ``NotInitializedError`` when it has neither."""
    master = load_master_key(root)
    if master is not None:
        return master
    if (store or backend_for(root)).holds_data():
        raise MasterKeyMissingError(root)
    raise NotInitializedError(root)


def initialize(root: Path, settings: Settings | None = None,
               step: Callable[[str], None] = lambda _what: None) -> tuple[MasterKey, bool]:
    """Create the data dir (0700), the master key if no source has one, and the store
    (SQLite files, or vipb's schemas and tables in PostgreSQL); ``step(what)`` hears each
    stage as it begins (initializing a remote store takes a while).

    A store that already holds data never gets a new key (it could not read the data):
    without its key this raises ``MasterKeyMissingError``, naming the sources.
    Returns the key (source only is ever shown) and whether this call created anything.
    """
    require_own_data_dir(root)
    store = backend_for(root, settings)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    step(f"preparing the store ({store.describe()})")
    store.prepare()
    created = not store.is_initialized()
    step("finding the master key")
    master = load_master_key(root)
    if master is None:
        if store.holds_data():
            raise MasterKeyMissingError(root)
        step("creating a master key")
        master = create_master_key(root)
    step("creating the event store, key store, audit chain and read models")
    runtime = Runtime(DataPaths(root), store, master, [v() for v in ALL_VIEWS], 5000,
                      settings=settings)
    step("closing")
    runtime.close()
    return master, created


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """Is this SQLite's "malformed" or "not a database" (not a lock or a full disk)?"""
    code = getattr(exc, "sqlite_errorcode", 0) or 0
    return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def checkpoint_key(master: MasterKey) -> Ed25519PrivateKey:
    """The data dir's audit key: the Ed25519 key (derived from the master key) that signs
    its checkpoints and its exports alike, so one public key (``vipb audit key``) checks
    both. (Exports written before 2026-12 were signed with a key of their own.)"""
    return signing_key(derive_key(master.key, "audit-checkpoint"))


def open_store(store: StoreBackend,
               master: MasterKey) -> tuple[DataKeyStore, EventStoreApp, AuditChain]:
    """The data keys, the event store and its audit chain of a store."""
    keystore = store.open_keystore(master.key)
    app = store.open_app(master.key, keystore)
    audit = store.open_audit(derive_key(master.key, "audit-chain"))
    return keystore, app, audit


class EventReader:
    """Read access to the event store (decryption included) without actors or a writer:
    what the CLI uses for audit reads while a host owns the write side."""

    def __init__(self, root: Path, settings: Settings | None = None) -> None:
        require_own_data_dir(root)
        store = backend_for(root, settings)
        if not store.is_initialized():
            raise NotInitializedError(root)
        master = master_key_for(root, store)
        self.keystore, self.app, self.audit = open_store(store, master)
        self.audit_key = checkpoint_key(master)
        self.auditor = AuditKeeper(self.audit, self.app, self.audit_key)

    def close(self) -> None:
        """Close the store and the key database."""
        self.app.close()
        self.keystore.close()


BrowserFactory = Callable[[Settings, EgressGuard], BrowserEngine]


def default_browser(settings: Settings, egress: EgressGuard) -> BrowserEngine:
    """Chromium through Playwright, as the settings say (started on first use)."""
    return BrowserEngine(settings.chromium, egress=egress)


class Runtime:
    """Everything a process needs to execute commands and read views."""

    def __init__(
        self,
        paths: DataPaths,
        store: StoreBackend,
        master: MasterKey,
        views: Sequence[View],
        batch_size: int,
        rate_limiter: RateLimiter | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        max_proxy_actors: int = MAX_LIVE_PROXY_ACTORS,
        claim_as: str | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
        browser: BrowserFactory = default_browser,
    ) -> None:
        """Built by ``service.bootstrap.bootstrap`` (see there)."""
        self.paths = paths
        self._browser = browser
        self._status = status
        self._claim_as = claim_as
        self.store = store
        self.master = master
        self.supervision = Supervision(locate=store.notification_id_of)
        install(self.supervision)  # actors that die are on record from the first one
        self.keystore, self.app, self.audit = open_store(store, master)
        self.committer = store.committer()
        self.writer = EventWriter(self.app, self.committer)
        self.auditor = AuditKeeper(self.audit, self.app, checkpoint_key(master), self.writer)
        self.index = EndpointIndex(self.writer, derive_key(master.key, "endpoint-index"))
        self.views_note: str | None = None  # how the views were healed at start, if they were
        self.runner = self._open_views(views, batch_size)
        self.committer.add_listener(self.runner.notify)
        self._sealer: AuditSealer | None = None
        self.committer.start()
        # on a shared store, other hosts' proxy changes are followed from here on (read
        # before the actors load their state: what comes between is applied twice, no harm)
        self._shared_from = self.app.event_log.head()
        self.shared_state: SharedStateFollower | None = None
        self.pool_ref = ProxyPoolActor.start(self.writer, self.index, self.keystore,
                                             max_proxy_actors)
        self.pool = proxy_of(self.pool_ref)
        self.settings = settings or Settings(data_dir=paths.root)
        pool = self.pool
        changes = CandidateBox()
        shared = store.shared
        self.host_scope = self.settings.host_id if shared else None  # per-host journals
        self.rotation_ref = RotationActor.start(
            self.writer, lambda: pool.proxy_ids().get(), clock=clock, changes=changes,
            host=self.host_scope,
            exits=lambda: self._settled_query(proxy_queries.exit_countries))
        self.rotation = proxy_of(self.rotation_ref)
        self.pool.attach_rotation(self.rotation, changes).get()
        self.egress = EgressGuard(self.settings.egress_policy())  # direct connections
        # set first thing at close: checks in flight end then instead of holding the close
        # for their timeout (a Ctrl-C'd `proxy validate` waited a minute to exit)
        self.closing = CancelToken()
        self.health_ref = HealthCheckActor.start(self.writer, self._statuses, self.egress,
                                                 host=self.host_scope, closing=self.closing)
        self.guard_ref = PrivacyGuardActor.start(self.writer, self.settings.filter_lists,
                                                 self.egress, shared=shared)
        self.guard = proxy_of(self.guard_ref)
        self._engine: BrowserEngine | None = None
        self._tabs_ref: pykka.ActorRef[TabSupervisorActor] | None = None
        # its proxy, made once: pykka builds a proxy by inspecting the actor's attributes
        # (3% of the host's CPU on HTTP searches, which ask for it several times each)
        self._tabs_proxy: pykka.ActorProxy[TabSupervisorActor] | None = None
        self._tabs_lock = threading.Lock()
        self._planner: RoutePlanner | None = None
        self._start_automation(clock)
        self.dispatcher = Dispatcher(Deps(
            settings=self.settings, reads=SettledReads(self.reader, self.settle), ops=self,
            pool=self.pool, rotation=self.rotation, health=proxy_of(self.health_ref),
            guard=self.guard, tabs=self.tabs, tracker=self.tracker, scheduler=self.scheduler,
            creators=self.creators, creator_runner=self.creator_runner,
            alert_rules=self.alert_rules, courier=self.courier, evidence=self.evidence,
            reparser=self.reparser, max_cached_actors=max_proxy_actors),
            rate_limiter, self.supervision)
        self._await_started(self.pool_ref, self.rotation_ref, self.health_ref, self.guard_ref,
                            self.tracker_ref, self.scheduler_ref)
        log.info("runtime open on %s, store %s (master key from %s)", paths.root,
                 store.describe(), master.source)

    def _open_views(self, views: Sequence[View], batch_size: int) -> ProjectionRunner:
        """The projection runner, on views that follow this store. Views are rebuilt from
        the events, never trusted blindly: a views database that cannot be opened (damaged,
        overwritten) is set aside and rebuilt; views ahead of the store's head (the events
        file was put back from an older copy, or lost its last writes) are rebuilt, since
        new events would take positions they claim to have seen and never show in them."""
        def runner() -> ProjectionRunner:
            return ProjectionRunner(self.app.event_log, self.app.event_log.decode,
                                    ShreddedEventError, self.store.connect_views, views,
                                    batch_size=batch_size, on_damage=self._views_damaged)

        try:
            opened = runner()
        except sqlite3.DatabaseError as exc:
            moved = self.store.set_views_aside() if _damaged(exc) else None
            if moved is None:
                raise
            self.views_note = (f"the views database could not be opened ({exc}); it was set "
                               f"aside as {moved} and the views were rebuilt from the events")
            log.warning("%s", self.views_note)
            opened = runner()
        if not self.store.on_files:  # a shared store's projector owns its views
            return opened
        head, ahead, other = self._disagreement(opened)
        if ahead:
            self.views_note = (f"views {', '.join(ahead)} were ahead of the event store "
                               f"(head {head}): the events were restored from an older copy "
                               "or lost their last writes; the views were rebuilt from them")
            log.warning("%s", self.views_note)
            opened.rebuild(ahead)
        elif other is not None:
            self.views_note = (f"the views were made from other events than this store holds "
                               f"at #{other} (another data dir's events, or a copy restored "
                               "and written to since): they were rebuilt from this store")
            log.warning("%s", self.views_note)
            opened.rebuild()
        return opened

    def _disagreement(self, runner: ProjectionRunner) -> tuple[int, list[str], int | None]:
        """How ``runner``'s views disagree with the event store: its head, the views ahead
        of it, and the position whose event the views say is another aggregate's than the
        store's (None: the same, or no position applied yet)."""
        head = self.app.event_log.head()
        ahead = sorted(name for name, (position, _skipped) in runner.positions().items()
                       if position > head)
        tip = runner.source_tip()
        if tip is None or str(self.app.event_log.originator_at(tip[0])) == tip[1]:
            return head, ahead, None
        return head, ahead, tip[0]

    def _views_damaged(self, exc: Exception) -> bool:
        """The views database failed while running: when it is damaged (not a lock, not a
        full disk), set it aside so that the runner rebuilds the views in a new one."""
        if not isinstance(exc, sqlite3.DatabaseError) or not _damaged(exc):
            return False
        moved = self.store.set_views_aside()
        if moved is None:
            return False
        self.views_note = (f"the views database was damaged while running ({exc}); it was "
                           f"set aside as {moved} and the views were rebuilt from the events")
        log.warning("%s", self.views_note)
        return True

    def views_problem(self) -> str | None:
        """Why the views and the event store disagree now (None: they agree): views ahead
        of the store's head, or made from other events than the store holds."""
        head, ahead, other = self._disagreement(self.runner)
        if ahead:
            return f"views {', '.join(ahead)} are ahead of the event store (head {head})"
        if other is not None:
            return f"the views were made from other events than the store holds at #{other}"
        return None

    def _await_started(self, *refs: pykka.ActorRef[Any]) -> None:
        """Wait until each actor has run its ``on_start``: one that died there is on record
        (``supervision``) before anyone asks for a status."""
        for ref in refs:
            with contextlib.suppress(pykka.ActorDeadError):  # recorded by its on_failure
                proxy_of(ref).ready().get(timeout=120)

    def _start_automation(self, clock: Callable[[], float]) -> None:
        settings, rotation = self.settings, self.rotation
        self.evidence = self.store.open_evidence(settings.evidence_retention())
        self.tracker_ref = RankTrackerActor.start(
            self.writer, self.tabs, self.planner, settings, evidence=self.evidence,
            outcome=lambda proxy_id, ok, ms: rotation.report(proxy_id, ok, ms),
            claims=self._claims(clock, rank_queries.claimable_tasks, lambda origin:
                                self._settled_query(rank_queries.unfinished_of, origin)),
            unfinished=lambda: self._settled_query(rank_queries.unfinished_tasks))
        self.tracker = proxy_of(self.tracker_ref)
        self.creators_ref = CreatorWatchActor.start(
            self.writer, self._creator_ids, shared=self.store.shared)
        self.creators = proxy_of(self.creators_ref)
        check = CreatorCheck(self.tabs, RetryPolicy.from_settings(settings))
        self.creator_runner = CreatorRunner(
            check, self.creators, settings.egress_policy(), settings.search_concurrency,
            self.writer, self._claims(clock, creator_queries.claimable_checks),
            busy=None if not self.store.shared else
            lambda: self._settled_query(creator_queries.creators_being_checked))
        self.scheduler_ref = SchedulerActor.start(
            self.writer, self.tracker, self._schedule_ids, clock, self.creator_runner,
            shared=self.store.shared)
        self.scheduler = proxy_of(self.scheduler_ref)
        self.reparser = Reparser(self.writer, self.evidence,
                                 Engines(settings.engines_dir, settings.engine_urls),
                                 self.reader, self.settle)
        self._start_alerts(clock)

    def _claims(self, clock: Callable[[], float],
                claimable: Callable[[Connection, str, str, int], list[str]],
                pending: Callable[[str], int] = lambda _origin: 0) -> Claims | None:
        """How this process claims tasks of one kind (searches, creator checks) when hosts
        share the store (None alone): ``claimable`` reads the candidates from the views;
        ``pending``: see ``Claims``."""
        if not self.store.shared:
            return None

        def candidates(host_id: str, now: datetime, limit: int) -> list[str]:
            with self.reader() as conn:
                return claimable(conn, host_id, lease_text(now), limit)

        return Claims(self._claim_as or self.settings.host_id, self.settings.claim_lease,
                      candidates, pending, clock)

    def _settled_query(self, query: Callable[..., T], *args: Any) -> T:
        """``query`` on views brought up to the store head first (the last run's tasks,
        wherever they were queued, are counted)."""
        self.settle()
        with self.reader() as conn:
            return query(conn, *args)

    def _start_alerts(self, clock: Callable[[], float]) -> None:
        settings = self.settings
        self.alert_rules_ref = AlertRulesActor.start(
            self.writer, self.keystore, self._alert_rule_ids, settings.egress_policy(),
            shared=self.store.shared)
        self.alert_rules = rules = proxy_of(self.alert_rules_ref)
        reads = SettledReads(self.reader, self.settle)
        self.courier = AlertCourier(
            self.writer, rules, outbox=lambda: reads.query(alert_outbox, OUTBOX_BATCH),
            undelivered=lambda: self._alive(*ALERTS_UNDELIVERED),
            senders={"webhook": WebhookSender(self.egress,
                                              deadline=settings.alert_attempt_timeout),
                     "email": MailSender(self.egress,
                                         lambda: rules.mail_server().get(timeout=60),
                                         deadline=settings.alert_attempt_timeout)},
            policy=DeliveryPolicy(settings.alert_attempts, settings.alert_retry_initial,
                                  settings.alert_retry_max),
            # one courier per cluster (a shared store's lock), else per data dir
            lock=(self.store.leader_lock("alert-courier")
                  or FileLock(self.paths.alerts_lock)), clock=clock,
            sources=(self.app.event_log.head, self._alert_sources_after))
        self.committer.add_topic_listener(frozenset(topics_of(ALERT_SOURCES)),
                                          self.courier.committed)

    def _alert_sources_after(self, position: int) -> bool:
        """Whether an event alert rules watch was committed after ``position`` (by any
        process: read from the store)."""
        return bool(self.app.event_log.after(position, ALERT_SOURCES, limit=1))

    def _alive(self, created: EventClass, *ended: EventClass) -> list[UUID]:
        """Aggregates with the created event and none of the ended ones, from the log."""
        return self.app.event_log.originators(created, ended)

    def _alert_rule_ids(self) -> list[str]:
        """Alert rules not removed, from the event store (the rules actor loads each)."""
        return [str(i) for i in self._alive(*RULES)]

    def _creator_ids(self) -> list[str]:
        """Creators not removed, from the event store (the watch actor loads each)."""
        return [str(i) for i in self._alive(*CREATORS)]

    # --- what handlers ask of the process (service.handlers.ProcessOps) -----------------

    def status(self) -> dict[str, Any]:
        """The ``host:status`` reply: the host's when a host opened this runtime, else what
        a runtime opened without a host sees."""
        return self._status() if self._status is not None else runtime_status(self)

    def settled(self) -> int:
        """Bring the views to the store head; that head."""
        self.settle()
        return self.app.event_log.head()

    def tabs_open_with(self, profile: str) -> list[str]:
        """Open tabs of this process using ``profile`` (none before the first tab)."""
        if self._tabs_ref is None:  # no supervisor yet: no open tab in this process
            return []
        found: list[str] = self.tabs().tabs_with_profile(
            str(privacy.profile_id(profile))).get(timeout=60)
        return found

    def backup(self, command: CreateBackup) -> dict[str, Any]:
        """Copy the data dir's files, consistent, while commits wait (SQLite only)."""
        if not self.store.on_files:
            raise ValidationError(f"the store is {self.store.describe()}: back it up with "
                                  "pg_dump, the master key apart and a `vipb audit "
                                  "checkpoint` (README: several hosts)", field="store")
        return create_backup(self.paths.root, Path(command.dest),
                             include_key=command.include_key, pause=self.committer.paused())

    def view_positions(self) -> list[ViewPosition]:
        """Each view's position, head and lag."""
        return [ViewPosition(view=s.view, position=s.position, head=s.head, lag=s.lag,
                             skipped=s.skipped) for s in self.runner.status()]

    def rebuild(self, views: list[str] | None, progress: Progress | None) -> Rebuilt:
        """Rebuild the named views (all when None) from the event store."""
        replayed = self.runner.rebuild(views, progress)
        return Rebuilt(replayed=replayed, views=self.view_positions())

    def _schedule_ids(self) -> list[str]:
        """Schedules not removed, from the event store (the scheduler loads each)."""
        return [str(i) for i in self._alive(*SCHEDULES)]

    def follow_shared_state(self) -> SharedStateFollower | None:
        """On a shared store: follow the proxy, breaker and strategy changes other hosts
        record (a host does this at start). None on SQLite: nobody else writes."""
        if not self.store.shared:
            return None
        if self.shared_state is None:
            self.shared_state = SharedStateFollower(
                self.app.event_log, self.pool,
                self.rotation, self._shared_from)
            self.shared_state.start()
        return self.shared_state

    def run_automation(self) -> int:
        """Fire schedules from now on and resume the search tasks a previous host left
        unfinished (the host does this at start). Returns how many tasks were resumed."""
        self.scheduler.start_ticking().get()
        self.courier.activate()  # deliver what a previous process left undelivered
        # tasks neither completed nor cancelled, from the event store; the tracker loads each
        # and skips those that failed for good
        ids = [str(i) for i in self._alive(*TASKS_OPEN)]
        resumed: int = self.tracker.resume(ids).get() if ids else 0
        self.tracker.start_scanning().get()  # on a shared store: other hosts' work too
        checks = [str(i) for i in self._alive(*CHECKS_OPEN)]
        if checks:
            log.info("resuming %d unfinished creator checks",
                     self.creator_runner.resume(checks))
        self.creator_runner.start_scanning()
        return resumed

    @property
    def engine(self) -> BrowserEngine:
        """The browser engine (its loop starts on first use; Chromium on the first tab)."""
        with self._tabs_lock:
            if self._engine is None:
                self._engine = self._browser(self.settings, self.egress)
            return self._engine

    def prepare_searches(self) -> Chromium:
        """Get ready for the first search (a host does this at start, in the background): the
        tab supervisor, and the Chromium whose version every profile presents, over HTTP
        too (returned). Finding it starts Playwright's driver (about a second, which the
        first search waited for); Chromium itself starts only with the first tab. The HTTP
        tier's client is loaded too (its first searches waited for that), and the tracked
        keywords (the first run waited for them to be rebuilt from their history)."""
        self.tabs()
        pagefetch.warm()
        self.tracker.load_targets().get()
        engine = self.engine
        return engine.run(engine.locate())

    def tabs(self) -> pykka.ActorProxy[TabSupervisorActor]:
        """The tab supervisor, started on first use."""
        engine = self.engine
        with self._tabs_lock:
            if self._tabs_ref is None:
                self._planner = RoutePlanner(engine, self.guard, self.pool, self.rotation,
                                             direct_country=self.settings.direct_country,
                                             timeout=self.settings.page_timeout)
                self._tabs_ref = TabSupervisorActor.start(
                    self.writer, engine, self.guard, self._planner,
                    timeout=self.settings.page_timeout,
                    warm_tabs=self.settings.search_concurrency)
            if self._tabs_proxy is None:
                self._tabs_proxy = proxy_of(self._tabs_ref)
            return self._tabs_proxy

    def planner(self) -> RoutePlanner:
        """Where searches make their routes (with the tab supervisor, on first use)."""
        self.tabs()
        assert self._planner is not None
        return self._planner

    def _statuses(self) -> dict[str, str]:
        """Each proxy's last recorded health status, from the event store (the health
        actor's only input from the past; it keeps them from then on)."""
        statuses: dict[str, str] = {}
        for state in self.app.event_log.states(STATUS_CHANGED):
            statuses[str(state["proxy_id"])] = str(state["new"])
        return statuses

    def follow(self, after: int | None, until: Callable[[dict[str, Any]], bool],
               timeout: float, poll: float | None = None,
               events: Collection[str] | None = None) -> bool:
        """Pass each event committed after ``after`` (None: from now; only events of the
        names ``events`` when given) to ``until`` (the host stream's JSON shape) until it
        answers true (True) or ``timeout`` passes (False); ``poll``: also see other
        processes' commits, that often."""
        start = after if after is not None else self.app.event_log.head()
        return follow_committed(self.app, self.committer, start, until, timeout, poll, events)

    def settle(self) -> None:
        """Bring every view up to the store head (in-process: catch up synchronously)."""
        head = self.app.event_log.head()
        if not self.runner.wait_for(head, timeout=SETTLE_TIMEOUT):
            behind = min((s.position for s in self.runner.status()), default=0)
            raise DatabaseError(f"the read models did not reach the store head ({behind} of "
                                f"{head}) within {SETTLE_TIMEOUT:.0f}s (a rebuild may be "
                                "running); retry")

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A read-only connection to the read models, closed after use. A views database
        found damaged (overwritten under a running host) is set aside and the views rebuilt
        before ``ViewsRebuiltError`` tells the reader to ask again."""
        try:
            with closing(self.store.connect_read_only()) as conn:
                yield conn
        except sqlite3.DatabaseError as exc:
            if not (self.store.on_files and _damaged(exc) and self.runner.heal(exc)):
                raise
            raise ViewsRebuiltError(f"the views database was damaged ({exc}); it was set "
                                    "aside and the views were rebuilt from the events: "
                                    "ask again") from None

    def start_sealing(self, when: Callable[[], bool] | None = None) -> None:
        """Seal new events into the audit chain in the background, soon after each commit
        (the host does this; an in-process runtime seals when it closes). ``when()``: seal
        now? (on a shared store, only the projecting host seals)."""
        if self._sealer is None:
            self._sealer = AuditSealer(self.auditor, self.settings.audit_checkpoint_interval,
                                       when)
            self._sealer.start()
            self.committer.add_listener(self._sealer.committed)

    def resume_tabs(self) -> list[str]:
        """Reopen the tabs that are open on record (the host does this at start); a tab
        that cannot be reopened is closed on record with the reason. A task's tab (a search
        attempt, a creator check) left open by a crash is closed on record, never reopened:
        its task is resumed and opens a tab of its own."""
        rows = []
        for opened in self._alive(*TABS_OPEN):
            tab = self.writer.load(Tab, opened)
            if tab is None or tab.closed:
                continue
            purpose = tab.task_purpose
            if purpose is not None:
                tab.close(reason=f"the {purpose} it was opened for was interrupted; "
                                 "tabs of tasks are not reopened")
                self.writer.save(tab)
                log.info("closed the %s tab %s left open by an interrupted run", purpose,
                         opened)
                continue
            rows.append((str(opened), tab.profile_id, tab.proxy_id, tab.url))
        resumed = []
        for tab_id, profile_id, proxy_id, url in rows:
            try:
                self.tabs().resume(tab_id, profile_id, proxy_id, url).get()
                resumed.append(tab_id)
            except Exception as exc:
                log.warning("tab %s could not be resumed: %s", tab_id, exc)
        return resumed

    def close(self, keep_tabs: bool = False) -> None:
        """Stop actors, flush the committer, close databases. Safe to call twice.

        ``keep_tabs``: leave open tabs open on record (the host resumes them at its next
        start) instead of closing them. ``closing_step`` names the step in progress (what a
        stuck shutdown reports)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        for step, action in self._close_steps(keep_tabs):
            self.closing_step = step
            action()
        self.closing_step = "closed"

    def _close_steps(self, keep_tabs: bool) -> list[tuple[str, Callable[[], object]]]:
        tabs = self._tabs_ref

        def suspend_tabs() -> None:
            if tabs is not None and keep_tabs:
                proxy_of(tabs).suspend_all().get()

        def stop_sealing() -> None:
            if self._sealer is not None:
                self._sealer.stop()

        def seal() -> None:
            try:
                self.auditor.seal()  # everything this runtime wrote is covered
                if self._sealer is not None:  # a host: its last checkpoint goes to the log
                    self.auditor.log_checkpoint(0)
            except Exception:
                log.exception("sealing the audit chain at close failed")

        def record_chain() -> None:
            try:
                self.auditor.ensure_recorded()
            except Exception:
                log.exception("recording the audit chain failed")

        def stop_following() -> None:
            if self.shared_state is not None:
                self.shared_state.close()

        return [
            ("ending proxy checks in flight",
             lambda: self.closing.cancel("the process is stopping", interrupted=True)),
            ("stopping the audit sealer", stop_sealing),  # the close seals, once, below
            ("stopping the shared-state follower", stop_following),
            ("stopping the scheduler", self.scheduler_ref.stop),
            ("stopping creator checks", self.creator_runner.close),
            ("stopping creator watch", self.creators_ref.stop),
            # running searches are interrupted and resume next time
            ("stopping the rank tracker", self.tracker_ref.stop),
            ("suspending open tabs", suspend_tabs),
            # closes the other tabs (TabClosed) while the store is open
            ("stopping the tabs", tabs.stop if tabs is not None else lambda: None),
            # a check whose tab just closed lets its task go (recorded while the store is open)
            ("waiting for creator checks to end",
             lambda: self.creator_runner.idle(CHECKS_END)),
            ("closing Chromium", self._engine.close if self._engine is not None
             else lambda: None),
            # alerts the last outcomes raised go out now; retries wait for the next process
            ("delivering alerts due now", lambda: self.courier.drain(ALERT_DRAIN)),
            ("stopping the alert courier", self.courier.close),
            ("stopping the alert rules", self.alert_rules_ref.stop),
            ("stopping the privacy guard", self.guard_ref.stop),
            ("stopping the proxy pool", self.pool_ref.stop),
            ("stopping the rotation engine", self.rotation_ref.stop),
            ("stopping the health checker", self.health_ref.stop),
            ("recording the audit chain", record_chain),
            ("flushing the committer", self.committer.stop),
            ("sealing the audit chain", seal),
            # readers without a runtime (vipb doctor, a copied views file) see every commit
            ("bringing the read models up to date", self._catch_up_briefly),
            ("stopping the projections", self.runner.stop),
            ("closing the event store", self.app.close),
            ("closing the evidence store", self.evidence.close),
            ("closing the key store", self.keystore.close),
            ("done", lambda: uninstall(self.supervision)),
        ]

    def _catch_up_briefly(self) -> None:
        """Let the views reach the store head, for a few seconds at most (a long rebuild
        goes on at the next start instead of holding up the close)."""
        self.runner.wait_for(self.app.event_log.head(), timeout=5.0)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
