"""The projection runner: pull new notifications, decode once, let each view write its rows,
and move each view's tracking position in the SAME transaction (compare-and-set).

Resumable by construction: a crash rolls back rows and position together, and a second runner
on the same file cannot apply a batch twice (the position it expected has moved).

Locking (one order, never reversed): ``_lock`` guards the connection (setup, batches,
rebuilds) and may be held while taking ``_advanced``; ``_advanced`` guards the positions last
committed (a copy in memory) and is never held while taking ``_lock``. Waiters therefore read
positions without touching the connection, so a long rebuild cannot deadlock a settle.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from eventsourcing.persistence import MapperDeserialisationError, Notification, StoredEvent

from domain.errors import DatabaseError
from domain.ids import as_uuid
from domain.progress import Progress
from domain.waits import idle_wait
from projections.sql import Connection, Cursor, bound_wal, columns_of
from projections.view import EventRecord, Handler, View, event_name

log = logging.getLogger(__name__)

FOLLOW_POLL = 0.2  # seconds between a following runner's reads of the shared positions
# seconds: while commits stream in, a background runner catches up at most this often, so
# that many commits go in one batch (a batch costs about the same for one commit or fifty:
# reading the log, a transaction, the tracking rows; at one batch per commit the views took
# an eighth of a busy host's CPU). Views then lag a busy host by up to this; a wait for them
# (``wait_for``: a command reading its own writes) does not wait for it.
GATHER = 0.1


class EventSource(Protocol):
    """What the runner needs from the event store."""

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None,
        topics: Sequence[str] = (), *, inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def max_notification_id(self) -> int | None: ...


class _Applied(NamedTuple):
    """What one batch did: notifications read, the lowest view position after it, and the
    tracking rows as it leaves them (what ``_committed`` says once it commits)."""

    done: int
    low: int
    tracked: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class ViewStatus:
    """One view's tracking position against the store head."""

    view: str
    position: int
    head: int
    skipped: int

    @property
    def lag(self) -> int:
        """How many notifications the view is behind."""
        return max(0, self.head - self.position)


_TRACKING = """
CREATE TABLE IF NOT EXISTS projection_tracking (
    view TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    schema_version INTEGER NOT NULL DEFAULT 1
)"""


# The last notification the views applied and whose it was: the views' claim about which
# event log they follow (checked against the store at start: see ``source_tip``).
_SOURCE = """
CREATE TABLE IF NOT EXISTS projection_source (
    slot INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL,
    originator_id TEXT NOT NULL
)"""


def _migrate_tracking(cur: Cursor) -> None:
    """Views files of the first release have no ``schema_version`` column: their views
    were all at version 1."""
    if "schema_version" not in columns_of(cur, "projection_tracking"):
        cur.execute("ALTER TABLE projection_tracking "
                    "ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 1")


def connect_views_db(path: Path) -> Connection:
    """Open the read-model database: WAL, autocommit (we BEGIN ourselves)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # Read models can always be rebuilt from the store and the tracking row commits with its
    # rows, so NORMAL (no fsync per commit) risks nothing that a catch-up does not repair.
    conn.execute("PRAGMA synchronous=NORMAL")
    bound_wal(conn)
    return conn


def _rollback(cur: Cursor) -> None:
    """Roll back, unless SQLite already did (a full disk ends the transaction itself, and a
    ROLLBACK then would hide the real error behind "no transaction is active")."""
    conn = getattr(cur, "connection", None)
    if isinstance(conn, sqlite3.Connection) and not conn.in_transaction:
        return
    cur.execute("ROLLBACK")


class ProjectionRunner:
    """Keeps a set of views current from an event source."""

    def __init__(
        self,
        source: EventSource,
        decode: Callable[[StoredEvent], dict[str, Any]],
        shredded: type[Exception],
        db: Path | Callable[[], Connection],
        views: Sequence[View],
        batch_size: int = 5000,
        on_damage: Callable[[Exception], bool] | None = None,
        gather: float = GATHER,
    ) -> None:
        """``db``: an SQLite file for the views, or a function opening the connection to
        write them through (PostgreSQL). ``on_damage(error)``: the views database failed
        with ``error`` while running; True when it was set aside, so that a new one is
        opened and rebuilt (see ``catch_up``). ``gather``: see ``GATHER``."""
        self._source = source
        self._decode = decode
        self._shredded = shredded
        self._views = list(views)
        self._batch = batch_size
        self._handlers: dict[str, dict[str, Handler]] = {v.name: v.handlers() for v in views}
        self._names: dict[str, str] = {}
        self._lock = threading.RLock()  # outer: the connection (see the module docstring)
        self._advanced = threading.Condition()  # inner: ``_committed`` and its waiters
        self._committed: dict[str, tuple[int, int]] = {}
        self._wake = threading.Event()
        self._gather = gather
        self._caught_up_at = -float("inf")  # (monotonic) when the last background batch began
        self._waiters = 0  # threads in ``wait_for`` (under ``_advanced``)
        self._hurry = threading.Event()  # someone waits: end the gathering now
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._active = True
        self._connect: Callable[[], Connection] = (
            (lambda: connect_views_db(db)) if isinstance(db, Path) else db)
        self._on_damage = on_damage
        self._conn = self._connect()
        self._setup()

    @property
    def views(self) -> list[View]:
        """The views this runner maintains."""
        return list(self._views)

    def _setup(self, only: set[str] | None = None) -> None:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(_TRACKING)
            cur.execute(_SOURCE)
            _migrate_tracking(cur)
            stored = dict(cur.execute("SELECT view, schema_version FROM projection_tracking"))
            for view in self._views:
                if only is not None and view.name not in only:
                    continue
                if view.name in stored and stored[view.name] != view.schema_version:
                    log.warning("view %s: schema %s -> %s, rebuilding it from the events",
                                view.name, stored[view.name], view.schema_version)
                    view.drop(cur)
                    cur.execute("DELETE FROM projection_tracking WHERE view=?", (view.name,))
                view.create(cur)
                cur.execute(
                    "INSERT OR IGNORE INTO projection_tracking(view, position, schema_version) "
                    "VALUES (?, 0, ?)", (view.name, view.schema_version))
            cur.execute("COMMIT")
        except BaseException:
            _rollback(cur)
            raise
        self._publish()

    def source_tip(self) -> tuple[int, str] | None:
        """The last notification the views applied and its aggregate's id (None before the
        first): a store that holds another aggregate at that position is not the store the
        views were made from."""
        with self._lock:
            row = self._conn.execute("SELECT notification_id, originator_id FROM "
                                     "projection_source WHERE slot = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def positions(self) -> dict[str, tuple[int, int]]:
        """View name -> (position, skipped), as last committed (or read) by this runner."""
        with self._advanced:
            found = dict(self._committed)
        return {v.name: found.get(v.name, (0, 0)) for v in self._views}

    def _publish(self, rows: dict[str, tuple[int, int]] | None = None) -> None:
        """Make the committed tracking rows (``rows``: as a batch that just committed left
        them; else read, the caller holding ``_lock`` with no open transaction) what
        ``_committed`` says, and wake the waiters."""
        if rows is None:
            with self._lock:
                rows = {name: (pos, skipped) for name, pos, skipped in self._conn.execute(
                    "SELECT view, position, skipped FROM projection_tracking")}
        with self._advanced:
            self._committed = rows
            self._advanced.notify_all()

    def status(self) -> list[ViewStatus]:
        """Each view's position, skipped count and the store head."""
        head = self._source.max_notification_id() or 0
        positions = self.positions().items()
        return [ViewStatus(name, pos, head, skipped) for name, (pos, skipped) in positions]

    def catch_up(self, progress: Progress | None = None) -> int:
        """Process batches until every view is at the head; return how many were processed."""
        try:
            return self._batches(self.run_batch, progress)
        except sqlite3.DatabaseError as exc:
            if not self._heal(exc):
                raise
            return self.rebuild(progress=progress)  # every event, into the new database

    def _batches(self, batch: Callable[[], tuple[int, int]],
                 progress: Progress | None) -> int:
        """Run ``batch`` until a batch is not full (it read everything there was: no second,
        empty transaction per catch-up, which was half the runner's work on a busy host);
        how many notifications it read."""
        total = 0
        # the head is read for progress only: a host's catch-ups run after every commit
        head = (self._source.max_notification_id() or 0) if progress is not None else 0
        while True:
            done, position = batch()
            total += done
            if progress is not None:
                progress(position, max(head, position))
            if done < self._batch:
                return total

    def run_batch(self) -> tuple[int, int]:
        """Apply one batch; return (notifications read, lowest view position after it)."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                applied = self._apply_batch(cur)
                cur.execute("COMMIT")
            except BaseException:
                for view in self._views:
                    view.discard()
                _rollback(cur)
                raise
            # also when nothing was new: the rows read show other runners' moves
            self._publish(applied.tracked)
        return applied.done, applied.low

    def _apply_batch(self, cur: Cursor) -> _Applied:
        """Apply one batch inside the caller's transaction, the views' buffered rows
        written."""
        applied = self._apply_notes(cur)
        for view in self._views:
            view.flush(cur)
        return applied

    def _apply_notes(self, cur: Cursor) -> _Applied:
        """Apply the next batch (its rows buffered in the views)."""
        tracked = {name: (pos, skipped) for name, pos, skipped in cur.execute(
            "SELECT view, position, skipped FROM projection_tracking")}
        positions = {name: pos for name, (pos, _) in tracked.items()}
        views = [v for v in self._views if v.name in positions]
        if not views:  # no tracking rows (a damaged file, or views being set up elsewhere)
            return _Applied(0, 0, tracked)
        low = min(positions[v.name] for v in views)
        notes = self._source.select_notifications(
            start=low, limit=self._batch, inclusive_of_start=False
        )
        if not notes:
            return _Applied(0, low, tracked)
        skipped = dict.fromkeys(positions, 0)
        routes: dict[tuple[str, bool], list[tuple[View, Handler]]] = {}
        high = max(positions[v.name] for v in views)
        names = self._names
        for note in notes:
            name = names.get(note.topic) or names.setdefault(note.topic, event_name(note.topic))
            if note.id > high:  # every view is behind: the common case, cached routes
                key = (name, True)
                if key not in routes:
                    routes[key] = self._routes(name, views)
                wanted = routes[key]
            else:
                wanted = self._routes(name, [v for v in views if positions[v.name] < note.id])
            if wanted:
                self._apply_one(cur, note, wanted, skipped)
        last = notes[-1].id
        cur.execute(
            "INSERT INTO projection_source(slot, notification_id, originator_id) "
            "VALUES (1, ?, ?) ON CONFLICT (slot) DO UPDATE SET "
            "notification_id=excluded.notification_id, originator_id=excluded.originator_id "
            "WHERE excluded.notification_id > projection_source.notification_id",
            (last, str(as_uuid(notes[-1].originator_id))))
        moves = [(v.name, positions[v.name], skipped[v.name]) for v in views
                 if positions[v.name] < last]
        self._advance(cur, moves, last)
        for name, _, more in moves:
            tracked[name] = (last, tracked[name][1] + more)
        return _Applied(len(notes), last, tracked)

    def _routes(self, name: str, views: list[View]) -> list[tuple[View, Handler]]:
        """The (view, handler) pairs that want events called ``name`` (cached per batch)."""
        routes = []
        for view in views:
            handler = self._handlers[view.name].get(name)
            if handler is not None:
                routes.append((view, handler))
            elif view.wants_all():
                routes.append((view, view.handle_any))
        return routes

    def _apply_one(
        self,
        cur: Cursor,
        note: Notification,
        routes: list[tuple[View, Handler]],
        skipped: dict[str, int],
    ) -> None:
        try:
            state = self._decode(note)
        except self._shredded:
            for view, _ in routes:
                view.forget(cur, note.id, as_uuid(note.originator_id), note.topic)
                skipped[view.name] += 1
            return
        except MapperDeserialisationError as exc:
            log.warning("skipping undecodable notification %s: %s", note.id, exc)
            for view, _ in routes:
                skipped[view.name] += 1
            return
        record = EventRecord(note.id, as_uuid(note.originator_id), note.originator_version,
                             note.topic, state)
        for _, handler in routes:
            handler(cur, record)

    @staticmethod
    def _advance(cur: Cursor, moves: list[tuple[str, int, int]], new: int) -> None:
        """Move each (view, expected position, skipped since) to ``new``: one statement
        per (expected, skipped) pair, usually one for every view (13 statements per batch
        were most of a host's projection work)."""
        groups: dict[tuple[int, int], list[str]] = {}
        for view, expected, skipped in moves:
            groups.setdefault((expected, skipped), []).append(view)
        for (expected, skipped), views in groups.items():
            marks = ",".join("?" * len(views))
            cur.execute(
                "UPDATE projection_tracking SET position=?, skipped=skipped+? "
                f"WHERE position=? AND view IN ({marks})",
                (new, skipped, expected, *views),
            )
            if cur.rowcount != len(views):
                raise DatabaseError(f"projection {', '.join(views)} was advanced by another "
                                    "runner; retry")

    def rebuild(self, names: Sequence[str] | None = None, progress: Progress | None = None) -> int:
        """Drop the given views (all by default), recreate them and replay from the start,
        in one transaction: readers see the old views until the new ones are complete (on
        PostgreSQL they wait for them), never a missing table or a half-built view."""
        known = {v.name for v in self._views}
        wanted = set(names or known)
        unknown = wanted - known
        if unknown:
            raise DatabaseError(f"unknown view(s): {', '.join(sorted(unknown))}")
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for view in self._views:
                    if view.name in wanted:
                        view.drop(cur)
                        cur.execute("DELETE FROM projection_tracking WHERE view=?", (view.name,))
                        view.create(cur)
                        cur.execute("INSERT INTO projection_tracking(view, position, "
                                    "schema_version) VALUES (?, 0, ?)",
                                    (view.name, view.schema_version))
                total = self._batches(lambda: self._apply_batch(cur)[:2], progress)
                cur.execute("COMMIT")
            except BaseException:
                for view in self._views:
                    view.discard()
                _rollback(cur)
                raise
            self._publish()
        return total

    # --- background mode (the host) -------------------------------------------------------

    def notify(self, _last_id: int) -> None:
        """Wake the background loop (registered as a commit listener)."""
        self._wake.set()

    def start(self, active: bool = True) -> None:
        """Run catch-ups in a background thread, woken by ``notify``. Not ``active`` (a
        host while another host projects): only follow the positions the projecting host
        commits, so that waits for them still end."""
        self._active = active
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="vipb-projections",
                                            daemon=True)
            self._thread.start()

    def set_active(self, active: bool) -> None:
        """Project (True) or only follow another projector's positions (False)."""
        self._active = active
        self._wake.set()

    @property
    def active(self) -> bool:
        """Whether this runner projects (rather than follows another)."""
        return self._active

    @idle_wait
    def _loop(self) -> None:
        while not self._stopping.is_set():
            # the timeout also picks up other processes' writes; a follower looks often,
            # since waits for the projecting host's positions end only when it looks
            self._wake.wait(timeout=1.0 if self._active else FOLLOW_POLL)
            if self._active:
                self._let_commits_gather()
            self._wake.clear()  # (commits from here on wake the next round)
            try:
                if self._active:
                    self.catch_up()
                else:
                    self._publish()
            except Exception:
                log.exception("projection catch-up failed; will retry")

    def _let_commits_gather(self) -> None:
        """Wait until ``gather`` seconds after the last catch-up began (nothing to wait
        after a quiet spell), unless someone waits for the views or the runner stops."""
        left = self._caught_up_at + self._gather - time.monotonic()
        if left > 0:
            with self._advanced:
                waited_for = self._waiters > 0
            if not waited_for:
                self._hurry.wait(left)
        self._hurry.clear()  # (a waiter from here on sets it again, or is served next)
        self._caught_up_at = time.monotonic()

    def wait_for(self, notification_id: int, timeout: float = 30.0) -> bool:
        """Block until every view is at ``notification_id`` or later (background mode:
        the runner catches up at once, without letting commits gather); False if
        ``timeout`` passed first."""
        names = [v.name for v in self._views]

        def reached() -> bool:  # runs under ``_advanced``: must not take ``_lock``
            return all(self._committed.get(n, (0, 0))[0] >= notification_id for n in names)

        if self._thread is None:
            self.catch_up()
            with self._advanced:
                return reached()
        with self._advanced:
            if reached():
                return True
            self._waiters += 1
        try:
            self._hurry.set()
            with self._advanced:
                return self._advanced.wait_for(reached, timeout=timeout)
        finally:
            with self._advanced:
                self._waiters -= 1

    def heal(self, exc: sqlite3.DatabaseError) -> bool:
        """A reader found the views database damaged (``exc``): unless that was mended
        meanwhile, set it aside (``on_damage``) and rebuild the views in a new one. True
        when the views are whole again, False when ``exc`` is not damage the owner sets
        aside."""
        with self._lock:
            if self._opens():
                return True  # another reader's heal got there first
            if not self._heal(exc):
                return False
            self.rebuild()
        return True

    def _opens(self) -> bool:
        """Whether a new connection reads the views database now."""
        try:
            conn = self._connect()
        except sqlite3.DatabaseError:
            return False
        try:
            conn.execute("SELECT COUNT(*) FROM projection_tracking").fetchone()
            return True
        except sqlite3.DatabaseError:
            return False
        finally:
            conn.close()

    def _heal(self, exc: sqlite3.DatabaseError) -> bool:
        """The views database failed under us (damaged on disk while running): when the
        owner sets it aside, open a new one, with every position at 0 meanwhile so that
        settled reads wait for the rebuild instead of reading nothing. False: not damage."""
        if self._on_damage is None:
            return False
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            if not self._on_damage(exc):
                self._conn = self._connect()  # as it was: the error stands
                return False
            with self._advanced:
                self._committed = {}
            self._conn = self._connect()
            self._setup()
        return True

    def stop(self) -> None:
        """Stop the background thread (if any) and close the database."""
        self._stopping.set()
        self._wake.set()
        self._hurry.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._conn.close()
