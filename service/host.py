"""``vipb host run``: the long-running host.

It opens the runtime, runs projections in the background, serves the control socket, and
runs until SIGTERM/SIGINT. Shutdown stops accepting requests, lets running commands finish,
flushes the committer, stops the actors and closes Chromium. After a SIGKILL nothing
acknowledged is lost (an ack means committed) and the next start catches the projections up.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pykka

from adapters.config import DataPaths, Settings
from adapters.control import ControlServer, check_socket_path, error_reply
from adapters.limits import open_file_limit, raise_open_file_limit
from adapters.service_notify import ServiceNotifier
from adapters.store import BATCH, EventHistory
from domain.errors import ValidationError
from domain.progress import Progress
from projections import queries
from projections.alerts import alert_states
from service.bootstrap import bootstrap
from service.cluster import PROJECTOR, ClusterMember
from service.event_follow import entries_after, event_names
from service.metrics import (
    HostCollector,
    RankCollector,
    metrics_address,
    metrics_token,
    serve_metrics,
)
from service.rate_limit import RateLimiter
from service.runtime import NotInitializedError, Runtime, backend_for
from service.status import ask_or_none, health_report
from service.watchdog import ShutdownWatchdog

log = logging.getLogger(__name__)

SIGNAL_POLL = 0.5  # seconds; how soon the main thread runs a signal another thread received
FOLLOW_EVERY = 0.02  # seconds; at most one read of the log per follower this often


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message (and the error, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record``."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "msg": record.getMessage()}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class HostLock:
    """An exclusive flock on the data dir's ``host.lock`` (released when the process dies)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise if another host holds it."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise ValidationError(f"a host already runs on this data dir (pid {other})",
                                  field="data_dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Host:
    """The runtime, the background projections and the control socket, until a signal."""

    def __init__(self, root: Path, settings: Settings | None = None,
                 metrics_port: int | None = None,
                 rate_limiter: RateLimiter | None = None,
                 metrics_token_file: Path | None = None,
                 metrics_bind: str = "127.0.0.1") -> None:
        """``metrics_token_file``: where the metrics endpoint's bearer token is (created
        0600 if missing; default: ``metrics.token`` in the data dir); ``metrics_bind``: the
        address it listens on (never a wildcard)."""
        self.paths = DataPaths(root)
        self._limiter = rate_limiter or RateLimiter()
        self._metrics_port = metrics_port
        self._metrics_token_file = metrics_token_file
        self._metrics_bind = metrics_address(metrics_bind)  # refused before anything starts
        self._metrics: Any = None
        self.settings = settings or Settings(data_dir=root)
        self.runtime: Runtime | None = None
        self.cluster: ClusterMember | None = None  # on a shared store
        self.server: ControlServer | None = None
        self.started = time.time()
        self._stop = threading.Event()
        self._lock = HostLock(self.paths.host_lock)
        self._commits: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._closing = "not closing"
        self._closing_runtime: Runtime | None = None
        self._resumer: threading.Thread | None = None
        self._service = ServiceNotifier()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Open everything and start serving (returns; ``wait`` blocks)."""
        if not backend_for(self.paths.root, self.settings).is_initialized():
            raise NotInitializedError(self.paths.root)
        check_socket_path(self.paths.socket)
        raise_open_file_limit()
        if self.settings.allow_private_targets:
            log.warning("allow_private_targets is on: vipb may reach loopback, private and "
                        "cloud metadata addresses directly (tests and labs only)")
        self._lock.acquire()
        try:
            # the host's status has what only a host knows (uptime, lag, connections)
            self.runtime = bootstrap(self.paths.root, settings=self.settings,
                                     rate_limiter=self._limiter, status=self.status)
            self.runtime.committer.add_listener(self._committed)
            self._join_cluster(self.runtime)
            cluster = self.cluster  # on a shared store, the projecting host seals
            self.runtime.start_sealing(
                None if cluster is None else lambda: cluster.leading)
            self.server = ControlServer(
                self.paths.socket, self._handle, streams={"events:follow": self._follow},
                max_connections=self.settings.control_max_connections,
                first_request_timeout=self.settings.control_first_request_timeout,
                idle_timeout=self.settings.control_idle_timeout)
            self.server.start()
            if self._metrics_port is not None:
                runtime = self.runtime
                token_file = self._metrics_token_file or self.paths.metrics_token
                self._metrics = serve_metrics(
                    self._metrics_port, metrics_token(token_file),
                    HostCollector(self.status, lambda: runtime.committer.transactions,
                                  self.started),
                    RankCollector(runtime.reader), bind=self._metrics_bind)
                shown = (f"[{self._metrics_bind}]" if ":" in self._metrics_bind
                         else self._metrics_bind)
                log.info("metrics on http://%s:%d/metrics (bearer token in %s)", shown,
                         self._metrics_port, token_file)
        except BaseException:
            self.close()
            raise
        log.info("host started on %s (pid %d)", self.paths.root, os.getpid())
        self._service.ready(f"serving {self.paths.socket}")
        self._service.start_watchdog(self._answers)
        self._resumer = threading.Thread(target=self._resume, name="vipb-resume", daemon=True)
        self._resumer.start()

    def _join_cluster(self, rt: Runtime) -> None:
        """Start the projections: this host's alone (SQLite), or on a shared store those
        of whichever host holds the projector's lock (``service.cluster``)."""
        registry = rt.store.host_registry(self.settings.host_id)
        lock = rt.store.leader_lock(PROJECTOR)
        if registry is None or lock is None:  # not shared: this host projects
            rt.runner.start()  # projections follow commits in the background
            return
        member = ClusterMember(
            registry, lock, rt.runner.set_active,
            lambda: ask_or_none(lambda: {**rt.tracker.active().get(timeout=5),
                                         "checks": rt.creator_runner.active()}),
            lambda n: ask_or_none(lambda: rt.rotation.set_hosts(n).get(timeout=5)))
        self.cluster = member
        rt.runner.start(active=False)
        member.start()
        rt.follow_shared_state()
        log.info("host %s joined the cluster on %s (%s)", member.host_id, rt.store.describe(),
                 "projecting" if member.leading else "another host projects")

    def wait_resumed(self, timeout: float | None = None) -> bool:
        """Wait until the start's background work is done (open tabs reopened, Chromium
        found, schedules and pending searches resumed); False when ``timeout`` passed
        first."""
        resumer = self._resumer
        if resumer is None:
            return True
        resumer.join(timeout)
        return not resumer.is_alive()

    def _resume(self) -> None:
        """Reopen the open tabs, then start schedules and resume pending searches."""
        rt = self.runtime
        if rt is None:
            return
        try:
            resumed = rt.resume_tabs()  # Chromium starts only if there is a tab to resume
            if resumed:
                log.info("resumed %d open tabs", len(resumed))
        except Exception:
            log.exception("resuming open tabs failed")
        if self._stop.is_set():
            return  # stopping already: schedules and searches resume at the next start
        chromium = None
        try:
            chromium = rt.prepare_searches()
        except Exception as exc:  # each search says so too, in its own words
            log.warning("not ready to search yet: %s", exc)
        if self._stop.is_set():
            return
        try:
            tasks = rt.run_automation()  # schedules tick from now on
            if tasks:
                log.info("resumed %d unfinished search tasks", tasks)
        except Exception:
            log.exception("starting schedules failed")
        if chromium is not None:  # (benchmarks start their clock here)
            log.info("host ready to search: profiles present Chromium %s (%s)",
                     chromium.version, chromium.path)

    def run(self) -> None:
        """Start, then serve until SIGTERM or SIGINT, then shut down gracefully."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        try:
            # Short waits: a process-directed signal may be delivered to any thread, and then
            # Python runs its handler only when the main thread next runs bytecode; a wait of
            # an hour could leave SIGTERM unheard for an hour (seen under load).
            while not self._stop.wait(SIGNAL_POLL):
                pass
        finally:
            log.info("host stopping")
            watchdog = ShutdownWatchdog(self.settings.shutdown_timeout, lambda: self.closing)
            watchdog.start()
            self.close()
            watchdog.finished()
            log.info("host stopped")

    @property
    def closing(self) -> str:
        """The shutdown step in progress (what a stuck shutdown reports)."""
        runtime = self._closing_runtime
        if runtime is not None:
            return f"{self._closing}: {getattr(runtime, 'closing_step', 'starting')}"
        return self._closing

    def stop(self) -> None:
        """Ask ``run`` to return (as a signal does)."""
        self._stop.set()

    def _answers(self) -> bool:
        """Whether the host still works: its actors answer and its store reads."""
        rt = self.runtime
        interval = self._service.watchdog_interval or 10.0
        if rt is None:
            return False
        ask_or_none(lambda: rt.scheduler.seconds_to_next().get(timeout=interval))
        rt.app.event_log.head()
        return True

    def close(self) -> None:
        """Stop serving, flush and close the runtime, release the lock. Safe to call twice."""
        self._service.stopping("stopping")
        self._service.stop()
        if self._metrics is not None:
            self._closing = "stopping the metrics server"
            self._metrics.shutdown()
            self._metrics = None
        if self.server is not None:
            self._closing = "waiting for running commands"
            self.server.stop()  # in-flight commands finish first
            self.server = None
        self._stop.set()
        resumer = self._resumer
        if resumer is not None and resumer is not threading.current_thread():
            # it uses the runtime: closing the store under it crashed the process (soak)
            self._closing = "waiting for the resume of open tabs and schedules"
            resumer.join()
            self._resumer = None
        runtime = self.runtime
        if runtime is not None:
            self._closing, self._closing_runtime = "closing the runtime", runtime
            self.runtime = None  # requests that still arrive are refused
            runtime.close(keep_tabs=True)  # open tabs resume at the next start
        if self.cluster is not None:
            # last: a projecting host projects its own last events before it lets go
            self._closing, self._closing_runtime = "leaving the cluster", None
            self.cluster.close()
        self._lock.release()

    # --- requests --------------------------------------------------------------------------------

    def _handle(self, channel: str, payload: dict[str, Any], client: str,
                progress: Progress | None = None) -> dict[str, Any]:
        rt = self.runtime
        if rt is None:
            return error_reply("the host is shutting down", "host_unavailable")
        return rt.dispatcher.dispatch(channel, payload, client, progress)

    def status(self) -> dict[str, Any]:
        """Uptime, actors, proxies by status, open tabs, projection lag, search tasks,
        next schedules, alerts by delivery state."""
        rt = self.runtime
        assert rt is not None
        with rt.reader() as conn:
            by_status, open_tabs = queries.pool_summary(conn)
            alerts = alert_states(conn)
        lag = {s.view: s.lag for s in rt.runner.status()}
        return {
            "host": "running", "pid": os.getpid(), "data_dir": str(self.paths.root),
            **health_report(rt),
            "uptime_seconds": round(time.time() - self.started, 1),
            "actors": len(pykka.ActorRegistry.get_all()),
            "proxies": by_status, "open_tabs": open_tabs,
            "store_head": rt.app.event_log.head(),
            "projection_lag": max(lag.values(), default=0), "views": lag,
            "views_note": rt.views_note,
            "searches": ask_or_none(lambda: rt.tracker.active().get(timeout=30)),
            "creator_checks": rt.creator_runner.active(),  # queued or running here
            "next_schedules": ask_or_none(lambda: rt.scheduler.upcoming(5).get(timeout=30)),
            "alerts": alerts, "courier": "delivering" if rt.courier.active else "idle",
            "store": rt.store.describe(),
            **({"cluster": self._cluster_status(self.cluster)}
               if self.cluster is not None else {}),
            "control": self._control_status(),
            "egress": self.settings.egress_status(),
        }

    @staticmethod
    def _cluster_status(cluster: ClusterMember) -> dict[str, Any]:
        try:
            return cluster.status()
        except Exception as exc:  # the store is unreachable: say so, the rest still shows
            return {"host_id": cluster.host_id, "error": str(exc).splitlines()[0]}

    def _control_status(self) -> dict[str, int]:
        server = self.server
        return {"connections": server.open_connections if server else 0,
                "dropped": server.dropped if server else 0,
                "open_file_limit": open_file_limit()}

    # --- events:follow ---------------------------------------------------------------------------

    def _committed(self, _last_id: int) -> None:
        for loop, event in list(self._commits):
            if event.is_set():  # woken already and not read since: that read sees this commit
                continue
            with contextlib.suppress(RuntimeError):  # that loop is closing
                loop.call_soon_threadsafe(event.set)

    async def _follow(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Stream events as they are committed (from ``after``, default: from now; only
        ``events``, a list of event names, when given: a client waiting for one kind of
        event is not sent, and the host does not decode, every other)."""
        rt = self.runtime
        assert rt is not None
        loop = asyncio.get_running_loop()
        after = payload.get("after")
        if after is not None and (not isinstance(after, int) or isinstance(after, bool)
                                  or not 0 <= after < 2**63):
            yield error_reply("after: must be a notification id from 0 to 2^63-1")
            return
        try:
            names = event_names(payload.get("events"))
        except ValidationError as exc:
            yield error_reply(str(exc))
            return
        position = after if after is not None else rt.app.event_log.head()
        history = EventHistory(rt.app)
        woken = asyncio.Event()
        self._commits.append((loop, woken))
        try:
            yield {"success": True, "data": {"following_from": position}}
            while True:
                woken.clear()  # before reading: a commit after the read wakes the wait
                read_to, entries = await loop.run_in_executor(
                    None, entries_after, rt.app, history, position, names)
                read_at = loop.time()
                for entry in entries:
                    yield {"event": entry}
                position = read_to
                if len(entries) < BATCH:  # read up to the head: wait for the next commit
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), 1.0)  # other writers' commits too
                    # a busy host commits hundreds of times a second: one read takes in
                    # those of ``FOLLOW_EVERY`` seconds (a read per commit was most of the
                    # control threads' work under an HTTP-tier run)
                    await asyncio.sleep(max(0.0, read_at + FOLLOW_EVERY - loop.time()))
        finally:
            self._commits.remove((loop, woken))
