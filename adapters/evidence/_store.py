"""The page store: zstd-compressed pages keyed by the SHA-256 of their text.

One table, ``pages``, in ``evidence.sqlite`` in the data dir (0600) or, when hosts share a
PostgreSQL store, in its ``<schema>_evidence`` schema: every host can read every page. A page
read twice (the same answer on another day) is stored once. Retention (``evidence_max_age``
and ``evidence_max_bytes`` in ``vipb.toml``) drops the oldest pages' bodies and keeps their
hash, size and dates with a note saying why, so a task's link still says what it pointed to.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import zstandard

from projections.sql import Connection

LEVEL = 3  # zstd level: ~5x smaller than the page's text, a few milliseconds a page
SWEEP_EVERY = 3600.0  # seconds between retention sweeps by age (a full store sweeps at once)
_SCHEMA = """CREATE TABLE IF NOT EXISTS pages (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    body BLOB,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    url TEXT NOT NULL,
    expired_at TEXT,
    note TEXT
)"""


@dataclass(frozen=True)
class Retention:
    """How long pages are kept (``max_age`` seconds) and how much room they may take
    (``max_bytes`` compressed); None: no limit."""

    max_age: float | None = None
    max_bytes: int | None = None


@dataclass(frozen=True)
class StoredPage:
    """One page as stored: its text (None once retention dropped it, with ``note``)."""

    hash: str
    size: int
    stored_size: int
    first_at: str
    last_at: str
    url: str  # where it was read (relative links on it resolve against this)
    html: str | None
    note: str | None = None


def page_hash(html: str) -> str:
    """The key of a page: SHA-256 of its UTF-8 text, hex."""
    return hashlib.sha256(html.encode()).hexdigest()


class EvidenceStore:
    """Put, get and expire pages. Thread-safe; one connection, opened by ``connect``."""

    def __init__(self, connect: Callable[[], Connection], retention: Retention | None = None,
                 clock: Callable[[], float] = time.time,
                 reclaim: Callable[[Connection], None] | None = None) -> None:
        """``reclaim`` gives the room of dropped bodies back to the disk after a sweep
        (SQLite: an incremental vacuum; PostgreSQL's autovacuum does it by itself)."""
        self._reclaim = reclaim
        self._db = connect()
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._retention = retention or Retention()
        self._clock = clock
        self._swept = 0.0
        self._bytes: int | None = None  # compressed bytes held (summed when first needed)
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        # a compressor per thread (one is not safe to share), kept: making one for each page
        # cost ~0.2 ms of its ~0.9 ms of compressing
        self._compressors = threading.local()

    def close(self) -> None:
        """Finish the pages being written, and close the connection."""
        with self._lock:
            writer, self._writer, self._closed = self._writer, None, True
        if writer is not None:
            writer.shutdown(wait=True)
        with self._lock:
            self._db.close()

    def put_later(self, html: str, url: str) -> concurrent.futures.Future[str]:
        """``put`` on the store's writer thread: the caller goes on (reads the page) while
        it is hashed, compressed and written, which hold the GIL for little of their time
        (a search's latency fell by about the write's 5-8 ms). The future holds the hash,
        or the reason it could not be kept."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the evidence store is closed")
            if self._writer is None:
                self._writer = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="vipb-evidence")
            return self._writer.submit(self.put, html, url)

    def put(self, html: str, url: str) -> str:
        """Store a page read at ``url`` (once: the same text again only moves its
        ``last_at``); its hash."""
        data = html.encode()
        key = hashlib.sha256(data).hexdigest()  # ``page_hash``, the text encoded once
        body = self._compressor().compress(data)
        now = self._now()
        with self._lock:
            held = self._db.execute("SELECT body IS NOT NULL FROM pages WHERE hash=?",
                                    (key,)).fetchone()
            # a page read again is kept again, even if retention had dropped it
            self._db.execute(
                "INSERT INTO pages (hash, size, stored_size, body, first_at, last_at, url) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT (hash) DO UPDATE SET "
                "last_at=excluded.last_at, body=COALESCE(pages.body, excluded.body), "
                "expired_at=NULL, note=NULL",
                (key, len(data), len(body), body, now, now, url))
            if self._bytes is not None and not (held and held[0]):
                self._bytes += len(body)
            self._keep_within()
        return key

    def _compressor(self) -> zstandard.ZstdCompressor:
        compressor: zstandard.ZstdCompressor | None = getattr(self._compressors, "zstd", None)
        if compressor is None:
            compressor = self._compressors.zstd = zstandard.ZstdCompressor(level=LEVEL)
        return compressor

    def get(self, key: str) -> StoredPage | None:
        """A page by hash (None: never stored here)."""
        with self._lock:
            row = self._db.execute(
                "SELECT hash, size, stored_size, body, first_at, last_at, url, note FROM pages "
                "WHERE hash=?", (key,)).fetchone()
        if row is None:
            return None
        body = row[3]
        html = (zstandard.ZstdDecompressor().decompress(bytes(body)).decode()
                if body is not None else None)
        return StoredPage(str(row[0]), int(row[1]), int(row[2]), str(row[4]), str(row[5]),
                          str(row[6]), html, row[7])

    def usage(self) -> dict[str, int]:
        """Pages held, their compressed bytes and their bytes as read, and pages expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(body), COALESCE(SUM(CASE WHEN body IS NOT NULL THEN stored_size "
                "END), 0), COALESCE(SUM(CASE WHEN body IS NOT NULL THEN size END), 0), "
                "COUNT(*) - COUNT(body) FROM pages").fetchone()
        return {"pages": int(row[0]), "stored_bytes": int(row[1]), "page_bytes": int(row[2]),
                "expired": int(row[3])}

    def expire(self) -> int:
        """Apply the retention now; how many pages' bodies were dropped."""
        with self._lock:
            return self._expire()

    def _keep_within(self) -> None:
        """Sweep by age now and then, and by size as soon as the store is over its room."""
        retention = self._retention
        due = self._clock() - self._swept >= SWEEP_EVERY
        if retention.max_bytes is not None and self._held() > retention.max_bytes:
            due = True
        if due and (retention.max_age is not None or retention.max_bytes is not None):
            self._expire()

    def _held(self) -> int:
        if self._bytes is None:
            row = self._db.execute("SELECT COALESCE(SUM(stored_size), 0) FROM pages "
                                   "WHERE body IS NOT NULL").fetchone()
            self._bytes = int(row[0])
        return self._bytes

    def _expire(self) -> int:
        self._swept = self._clock()
        retention, now = self._retention, self._now()
        dropped = 0
        if retention.max_age is not None:
            cutoff = datetime.fromtimestamp(self._clock() - retention.max_age, UTC).isoformat()
            days = retention.max_age / 86400
            cur = self._db.execute(
                "UPDATE pages SET body=NULL, expired_at=?, note=? WHERE body IS NOT NULL "
                "AND last_at < ?", (now, f"expired: not read again for {days:g} days "
                                         "(evidence_max_age)", cutoff))
            dropped += max(0, cur.rowcount)
            self._bytes = None
        if retention.max_bytes is not None and self._held() > retention.max_bytes:
            dropped += self._drop_oldest(retention.max_bytes, now)
        if dropped and self._reclaim is not None:
            self._reclaim(self._db)
        return dropped

    def _drop_oldest(self, room: int, now: str) -> int:
        """Drop the least recently read bodies until what is held fits ``room``."""
        over = self._held() - room
        victims: list[str] = []
        for key, size in self._db.execute(
                "SELECT hash, stored_size FROM pages WHERE body IS NOT NULL "
                "ORDER BY last_at, hash").fetchall():
            if over <= 0:
                break
            victims.append(str(key))
            over -= int(size)
        note = f"expired: the store was over its room of {room} bytes (evidence_max_bytes)"
        for start in range(0, len(victims), 500):
            chunk = victims[start:start + 500]
            self._db.execute(f"UPDATE pages SET body=NULL, expired_at=?, note=? WHERE hash IN "
                             f"({','.join('?' * len(chunk))})", (now, note, *chunk))
        self._bytes = None
        return len(victims)

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).isoformat()


def days(value: float) -> float:
    """``value`` days in seconds (retention settings are given in days)."""
    return timedelta(days=value).total_seconds()
