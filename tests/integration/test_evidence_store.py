"""The evidence store on both backends: pages kept compressed and by content, read back
whole, shared by every process on the store, and retention that drops the oldest bodies but
keeps their hash, size and a note."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from adapters.evidence import EvidenceStore, Retention
from adapters.evidence._store import page_hash
from service.runtime import Runtime, backend_for
from tests.pg import BOTH_STORES, raw_connection

PAGE = ("<html><body><div id=rso>" + "".join(
    f'<div class="MjjYud"><a href="https://site{i}.example/"><h3>Result {i}</h3></a>'
    f'<div class="VwiC3b">A snippet about result {i} and coffee grinders.</div></div>'
    for i in range(200)) + "</div></body></html>")


class Clock:
    """A settable clock (seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _store(data_dir: Path, retention: Retention | None = None,
           clock: Clock | None = None) -> EvidenceStore:
    backend = backend_for(data_dir)
    if clock is None:
        return backend.open_evidence(retention)
    store = backend.open_evidence(retention)
    store._clock = clock  # the store's own clock, as a test sets it
    return store


@BOTH_STORES
def test_a_page_is_kept_once_compressed_and_read_back_whole(data_dir: Path) -> None:
    store = _store(data_dir)
    try:
        key = store.put(PAGE, "https://www.google.com/search?q=coffee")
        assert key == page_hash(PAGE) and store.put(PAGE, "https://x.example/") == key
        page = store.get(key)
        assert page is not None and page.html == PAGE
        assert page.url == "https://www.google.com/search?q=coffee"  # where it was first read
        assert page.size == len(PAGE.encode()) and page.stored_size < page.size / 5
        assert store.get("0" * 64) is None
        usage = store.usage()
        assert (usage["pages"], usage["expired"]) == (1, 0)
        # the body on disk is compressed, not the page's text
        conn = raw_connection(data_dir, "evidence")
        [(count,)] = conn.execute("SELECT COUNT(*) FROM pages").fetchall()
        body = bytes(conn.execute("SELECT body FROM pages").fetchone()[0])
        conn.close()
        assert count == 1 and b"Result 199" not in body
    finally:
        store.close()


@BOTH_STORES
def test_pages_kept_later_are_all_written_before_the_store_closes(data_dir: Path) -> None:
    """``put_later`` (a search reads its page while the page is written): every page handed
    over is on disk once ``close`` returns, its hash in its future; none after it."""
    store = _store(data_dir)
    pages = [PAGE.replace("Result 7<", f"Result {n}-7<") for n in range(40)]
    futures = [store.put_later(page, f"https://x.example/{n}") for n, page in enumerate(pages)]
    store.close()  # before most have been written: close finishes them
    assert [f.result(0) for f in futures] == [page_hash(page) for page in pages]
    with pytest.raises(RuntimeError, match="closed"):
        store.put_later(PAGE, "https://x.example/late")
    reopened = _store(data_dir)
    try:
        assert reopened.usage()["pages"] == 40
        kept = reopened.get(page_hash(pages[-1]))
        assert kept is not None and kept.html == pages[-1]
    finally:
        reopened.close()


@BOTH_STORES
def test_every_process_on_the_store_reads_what_another_kept(data_dir: Path) -> None:
    writer, reader = _store(data_dir), _store(data_dir)
    try:
        keys: list[str] = []

        def put(n: int) -> None:
            for i in range(10):
                keys.append(writer.put(PAGE.replace("coffee", f"tea {n}-{i}"), "https://e/"))

        threads = [threading.Thread(target=put, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(keys)) == 40
        assert all((p := reader.get(k)) is not None and p.html and k == page_hash(p.html)
                   for k in keys)
    finally:
        writer.close()
        reader.close()


@BOTH_STORES
def test_retention_drops_the_least_recently_read_bodies_and_keeps_a_note(
        data_dir: Path) -> None:
    clock = Clock(time.time())
    pages = [PAGE.replace("coffee", f"page {i}") for i in range(6)]
    probe = _store(data_dir)
    one = probe.get(probe.put(pages[0], "https://e/"))
    probe.close()
    assert one is not None
    room = one.stored_size * 3 + one.stored_size // 2  # three and a half pages
    store = _store(data_dir, Retention(max_age=10 * 86400, max_bytes=room), clock)
    try:
        keys = []
        for page in pages[1:]:
            clock.now += 3600
            keys.append(store.put(page, "https://e/"))
        usage = store.usage()
        assert usage["stored_bytes"] <= room and usage["pages"] == 3
        gone = store.get(page_hash(pages[0]))
        assert gone is not None and gone.html is None
        assert gone.note is not None and "evidence_max_bytes" in gone.note
        assert store.get(keys[-1]).html == pages[-1]  # type: ignore[union-attr]
        # read again, a dropped page is kept again
        store.put(pages[0], "https://e/")
        assert store.get(page_hash(pages[0])).html == pages[0]  # type: ignore[union-attr]
        # eleven days on, every page not read again is past its age
        clock.now += 11 * 86400
        assert store.expire() >= 1
        aged = store.get(keys[-1])
        assert aged is not None and aged.html is None and "evidence_max_age" in (aged.note or "")
        assert aged.hash == keys[-1] and aged.size == len(pages[-1].encode())
    finally:
        store.close()


def test_the_runtime_keeps_its_pages_in_an_owner_only_file(runtime: Runtime,
                                                          data_dir: Path) -> None:
    runtime.evidence.put(PAGE, "https://e/")
    mode = (data_dir / "evidence.sqlite").stat().st_mode & 0o777
    assert mode == 0o600
