"""A tamper-evident hash chain over the event log.

Every stored event (notification id, aggregate id, version, topic, encrypted state — the
bytes as stored) gets a digest; the chain hash of event n is SHA-256(chain n-1 || digest n).
Both are kept in ``audit.sqlite`` (or the audit schema in PostgreSQL) with an HMAC (key
derived from the master key) over (n, digest, chain), so rewriting the audit file without
the master key is detected too.
``verify`` recomputes everything from the store and names the first event that was altered,
deleted, inserted or reordered. Events written after the last ``seal`` are reported as not
yet covered (the host seals continuously; an in-process runtime seals when it closes).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from projections.sql import Connection

GENESIS = b"\x00" * 32
BATCH = 2000


class Notifications(Protocol):
    """What the chain reads from the store (the eventsourcing recorder)."""

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Any = (), *, inclusive_of_start: bool = True) -> Any: ...

    def max_notification_id(self) -> int | None: ...


def digest(note: Any) -> bytes:
    """SHA-256 of one stored event's content, length-prefixed (unambiguous). The position
    (notification id) is not in it but in the chain, so a moved event is recognised."""
    oid = note.originator_id
    parts = [
        (oid.hex if isinstance(oid, UUID) else str(oid)).encode(),
        int(note.originator_version).to_bytes(8, "big"),
        note.topic.encode(),
        bytes(note.state),
    ]
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.digest()


@dataclass
class AuditReport:
    """What ``verify`` found."""

    ok: bool
    checked: int = 0
    sealed_head: int = 0
    store_head: int = 0
    unsealed: int = 0
    problem: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """For the CLI."""
        return {"ok": self.ok, "checked": self.checked, "sealed_head": self.sealed_head,
                "store_head": self.store_head, "unsealed": self.unsealed,
                "problem": self.problem}


def batches(store: Notifications, after: int = 0) -> Iterator[list[Any]]:
    """Every stored event after notification ``after``, in commit order, in batches."""
    while notes := list(store.select_notifications(start=after, limit=BATCH,
                                                   inclusive_of_start=False)):
        yield notes
        after = notes[-1].id


def _link(chain: bytes, n: int, dig: bytes) -> bytes:
    return hashlib.sha256(chain + n.to_bytes(8, "big") + dig).digest()


def chained(store: Notifications) -> Iterator[tuple[Any, bytes, bytes]]:
    """Every stored event with its digest and chain hash, recomputed from the genesis."""
    chain = GENESIS
    for notes in batches(store):
        for note in notes:
            dig = digest(note)
            chain = _link(chain, note.id, dig)
            yield note, dig, chain


class AuditChain:
    """The chain file and the operations on it."""

    def __init__(self, connect: Callable[[], Connection], key: bytes) -> None:
        """``connect`` opens a new autocommit connection to the chain's database."""
        self._connect = connect
        self._key = key
        self._lock = threading.Lock()
        with closing(self._connect()) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS chain (notification_id INTEGER PRIMARY "
                         "KEY, digest BLOB NOT NULL, chain BLOB NOT NULL, mac BLOB NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                         "value TEXT NOT NULL, mac BLOB NOT NULL)")

    # --- identity: which chain this file holds ------------------------------------------------

    def chain_id(self) -> str | None:
        """The id this chain file was given (None: a file from before ids, or a new one)."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT value, mac FROM meta WHERE key='chain_id'").fetchone()
        if row is None:
            return None
        value, mac = str(row[0]), bytes(row[1])
        return value if hmac.compare_digest(mac, self._id_mac(value)) else None

    def set_chain_id(self, chain_id: str) -> None:
        """Name this chain file (authenticated like the records)."""
        with self._lock, closing(self._connect()) as conn:
            conn.execute("INSERT INTO meta VALUES ('chain_id', ?, ?) ON CONFLICT (key) "
                         "DO UPDATE SET value=excluded.value, mac=excluded.mac",
                         (chain_id, self._id_mac(chain_id)))

    def adopt_chain_id(self, candidate: str) -> str:
        """Name this chain ``candidate`` unless it has a name already (the first of two
        hosts starting at once wins); the name in force."""
        with self._lock, closing(self._connect()) as conn:
            conn.execute("INSERT INTO meta VALUES ('chain_id', ?, ?) ON CONFLICT (key) "
                         "DO NOTHING", (candidate, self._id_mac(candidate)))
        found = self.chain_id()
        return found if found is not None else candidate

    def _id_mac(self, chain_id: str) -> bytes:
        return hmac.new(self._key, b"chain_id:" + chain_id.encode(), hashlib.sha256).digest()

    def is_empty(self) -> bool:
        """Whether nothing was ever sealed into this file."""
        return self.head()[0] == 0

    def restart(self, chain_id: str) -> None:
        """Drop every record and name the file anew (``vipb audit reset``, on record)."""
        with self._lock, closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM chain")
            conn.execute("COMMIT")
        self.set_chain_id(chain_id)

    @classmethod
    def on_sqlite(cls, path: Path, key: bytes) -> AuditChain:
        """The chain in its own SQLite file (WAL)."""
        def connect() -> Connection:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        return cls(connect, key)

    def _mac(self, n: int, dig: bytes, chain: bytes) -> bytes:
        return hmac.new(self._key, n.to_bytes(8, "big") + dig + chain, hashlib.sha256).digest()

    def head(self) -> tuple[int, bytes]:
        """(last sealed notification id, its chain hash); (0, genesis) when empty."""
        with closing(self._connect()) as conn:
            return self._head(conn)

    @staticmethod
    def _head(conn: Connection) -> tuple[int, bytes]:
        row = conn.execute("SELECT notification_id, chain FROM chain "
                           "ORDER BY notification_id DESC LIMIT 1").fetchone()
        return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)

    def seal(self, store: Notifications) -> int:
        """Extend the chain over events committed since the last seal; returns how many."""
        sealed = 0
        with self._lock, closing(self._connect()) as conn:
            while True:
                # the head is read under the write lock: another host sealing the same
                # store at once extends the chain first, and this one goes on from there
                conn.execute("BEGIN IMMEDIATE")
                try:
                    position, chain = self._head(conn)
                    notes = list(store.select_notifications(start=position, limit=BATCH,
                                                            inclusive_of_start=False))
                    rows = []
                    for note in notes:
                        dig = digest(note)
                        chain = _link(chain, note.id, dig)
                        rows.append((note.id, dig, chain, self._mac(note.id, dig, chain)))
                    if rows:
                        conn.executemany("INSERT INTO chain VALUES (?,?,?,?)", rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if not notes:
                    return sealed
                sealed += len(notes)

    def _sealed(self) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        with closing(self._connect()) as conn:
            position = -1
            while True:
                rows = conn.execute("SELECT notification_id, digest, chain, mac FROM chain "
                                    "WHERE notification_id > ? ORDER BY notification_id "
                                    "LIMIT ?", (position, BATCH)).fetchall()
                if not rows:
                    return
                for n, dig, chain, mac in rows:
                    yield int(n), bytes(dig), bytes(chain), bytes(mac)
                position = rows[-1][0]

    def verify(self, store: Notifications,
               progress: Callable[[int, int], None] | None = None,
               recorded_chain_id: str | None = None) -> AuditReport:
        """Recompute the chain from the store; stop at the first discrepancy.

        ``recorded_chain_id`` is the chain the event log says is in force: a chain file with
        another id (deleted and recreated, or swapped) fails, whatever it holds."""
        sealed_head, _ = self.head()
        store_head = store.max_notification_id() or 0
        report = AuditReport(ok=True, sealed_head=sealed_head, store_head=store_head)
        problem = self.identity_problem(recorded_chain_id, store_head)
        if problem is not None:
            report.ok = False
            report.problem = {"kind": "chain_missing", "notification_id": None,
                              "detail": problem}
            return report
        stored = (note for batch in batches(store) for note in batch)
        sealed = self._sealed()
        chain = GENESIS
        note = next(stored, None)
        entry = next(sealed, None)
        while entry is not None:
            n, dig, chain_n, mac = entry
            if not hmac.compare_digest(mac, self._mac(n, dig, chain_n)):
                return self._fail(report, "audit_altered", n, "the audit record itself was "
                                  "changed (its MAC does not match)")
            if note is None or note.id > n:
                return self._fail(report, "deleted", n, f"event {n} is missing from the store")
            if note.id < n:
                return self._fail(report, "inserted", note.id,
                                  f"event {note.id} was never sealed but sits inside the chain")
            found = digest(note)
            if found != dig:
                return self._fail(report, *self._explain(n, dig, found, next(sealed, None),
                                                         next(stored, None)))
            chain = _link(chain, n, found)
            if chain != chain_n:
                return self._fail(report, "audit_altered", n, "the chain does not match the "
                                  "sealed chain hash")
            report.checked += 1
            if progress is not None and report.checked % BATCH == 0:
                progress(report.checked, sealed_head)
            note = next(stored, None)
            entry = next(sealed, None)
        unsealed = 0
        while note is not None:
            unsealed += 1
            note = next(stored, None)
        report.unsealed = unsealed
        return report

    def identity_problem(self, recorded_chain_id: str | None, store_head: int) -> str | None:
        """Why this chain file is not the one the log says is in force, or None.

        Not a problem: the chain on record; a new data dir (its chain got an id while the
        store was empty; it is put on record with the first seal); a chain from before chain
        ids (no id, but records: adopted). A problem: another chain than the recorded one, or
        an empty chain without an id beside a store that holds events (deleted and
        recreated: nothing says which events were ever sealed)."""
        found = self.chain_id()
        if recorded_chain_id is not None:
            missing = found != recorded_chain_id
        else:
            missing = store_head > 0 and found is None and self.is_empty()
        if not missing:
            return None
        return ("the audit chain was deleted, reset or replaced (the event log names another "
                "chain); nothing is sealed until `vipb audit reset --reason TEXT` starts a "
                "new one on record")

    @staticmethod
    def _explain(n: int, sealed_digest: bytes, found: bytes,
                 next_sealed: tuple[int, bytes, bytes, bytes] | None,
                 next_stored: Any) -> tuple[str, int, str]:
        """Name the first discrepancy at position n from its neighbours."""
        following = digest(next_stored) if next_stored is not None else None
        if next_sealed is not None and found == next_sealed[1]:
            if following == sealed_digest:
                return "reordered", n, f"events {n} and {n + 1} were swapped"
            return "deleted", n, (f"event {n} was deleted (the events after it were "
                                  "renumbered)")
        if following == sealed_digest:
            return "inserted", n, (f"an event was inserted at {n} (the event sealed as {n} "
                                   "now comes after it)")
        return "altered", n, f"event {n} differs from what was sealed"

    @staticmethod
    def _fail(report: AuditReport, kind: str, n: int, detail: str) -> AuditReport:
        report.ok = False
        report.problem = {"kind": kind, "notification_id": n, "detail": detail}
        return report
