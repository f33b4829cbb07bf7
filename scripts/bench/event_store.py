"""Benchmark the event store against baselines measured in the same run.

(a) raw sqlite3: event-shaped rows, one transaction per row, same journal/synchronous as ours
(b) our append path: command -> dispatcher -> ProxyActor -> aggregate -> encrypt -> group
    commit -> SQLite, with 8 concurrent producers, each command acknowledged after commit
(c) projection rebuild of N events vs a plain select + decode of the same notifications

Prints (b)/(a) (goal >= 1.0) and (c) as rebuild speed / select+decode speed (goal >= 0.3).
Usage: python -m scripts.bench.event_store [--events 100000] [--appends 4000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("VIPB_KEYRING", "off")

from domain.commands import AddProxy, UpdateProxy
from domain.parsing import parse_command
from domain.proxy import Proxy
from service.bootstrap import bootstrap
from service.runtime import Runtime, initialize

PRODUCERS = 8
APPEND_CPU_US = 0.0  # process CPU (all threads) per acknowledged event in (b)


def store_pragmas(path: Path) -> tuple[str, int]:
    """The journal mode and synchronous level our event store connections use."""
    conn = sqlite3.connect(path)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    conn.close()
    return mode, sync


def bench_raw(path: Path, rows: int, journal: str, sync: int) -> float:
    """(a) rows/s for raw inserts, one transaction per row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
                 "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    state = os.urandom(220)
    ids = [uuid.uuid4().hex for _ in range(PRODUCERS)]
    start = time.perf_counter()
    for i in range(rows):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO stored_events VALUES (?,?,?,?)",
                     (ids[i % PRODUCERS], i // PRODUCERS + 1, "domain.proxy:Proxy.ProxyUpdated",
                      state))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return rows / elapsed


def bench_append(rt: Runtime, total: int) -> tuple[float, int]:
    """(b) acknowledged events/s with 8 producers updating their own proxy."""
    ids = [rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 20000 + n,
        "username": f"u{n}", "password": f"p{n}"})).id for n in range(PRODUCERS)]
    per = total // PRODUCERS
    barrier = threading.Barrier(PRODUCERS + 1)
    before = rt.committer.transactions

    def produce(proxy_id: str) -> None:
        barrier.wait()
        for i in range(per):
            rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                              "weight": i % 900 + 2}))

    threads = [threading.Thread(target=produce, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    global APPEND_CPU_US
    APPEND_CPU_US = 1e6 * (time.process_time() - cpu) / (per * PRODUCERS)
    return per * PRODUCERS / elapsed, rt.committer.transactions - before


def fill(rt: Runtime, events: int) -> None:
    """Write ``events`` proxy events quickly (big commits) for the rebuild benchmark."""
    proxies = [Proxy(id=uuid.uuid4(), protocol="http", host="127.0.0.1", port=30000 + n % 30000,
                     username=f"u{n}", password=f"p{n}", label=None, country="DE", weight=1,
                     max_concurrency=10, tags=["bench"]) for n in range(1000)]
    for proxy in proxies:
        rt.keystore.create(proxy.id)
    written, step = len(proxies), 0
    rt.writer.save(*proxies)
    while written < events:
        step += 1
        batch = proxies[: min(len(proxies), events - written)]
        for proxy in batch:
            proxy.update({"weight": step % 900 + 2}, None)
        rt.writer.save(*batch)
        written += len(batch)


def bench_rebuild(rt: Runtime) -> tuple[float, float, int]:
    """(c) events/s for a full rebuild and for a plain select + decode of the same events."""
    head = rt.app.recorder.max_notification_id() or 0
    decode = rt.app.shredding_mapper.decode_state
    start = time.perf_counter()
    position = 0
    while True:
        notes = rt.app.recorder.select_notifications(start=position, limit=2000,
                                                     inclusive_of_start=False)
        if not notes:
            break
        for note in notes:
            decode(note)
        position = notes[-1].id
    baseline = head / (time.perf_counter() - start)
    start = time.perf_counter()
    replayed = rt.runner.rebuild()
    ours = replayed / (time.perf_counter() - start)
    return ours, baseline, replayed


def main() -> None:
    """Run the three measurements and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for (c)")
    parser.add_argument("--appends", type=int, default=4000, help="events for (a) and (b)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        initialize(root)
        journal, sync = store_pragmas(root / "events.sqlite")
        raw = bench_raw(Path(tmp) / "raw.sqlite", args.appends, journal, sync)
        with bootstrap(root) as rt:
            append, transactions = bench_append(rt, args.appends)
        fill_root = Path(tmp) / "fill"
        initialize(fill_root)
        with bootstrap(fill_root) as rt:
            fill(rt, args.events)
            rebuild, decode_only, replayed = bench_rebuild(rt)
    result = {
        "sqlite": {"journal_mode": journal, "synchronous": sync},
        "raw_inserts_per_s": round(raw),
        "append_events_per_s": round(append),
        "append_events_per_transaction": round(args.appends / max(transactions, 1), 2),
        "append_cpu_us_per_event": round(APPEND_CPU_US),
        "append_ratio": round(append / raw, 2),
        "rebuild_events": replayed,
        "rebuild_events_per_s": round(rebuild),
        "select_decode_events_per_s": round(decode_only),
        "rebuild_ratio": round(rebuild / decode_only, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"sqlite journal={journal} synchronous={sync}")
    print(f"(a) raw sqlite3, 1 txn/row:        {raw:10.0f} rows/s")
    print(f"(b) vipb append, {PRODUCERS} producers:      {append:10.0f} events/s "
          f"({result['append_events_per_transaction']} events/txn, "
          f"{result['append_cpu_us_per_event']} us CPU/event)")
    print(f"(c) rebuild {replayed} events:       {rebuild:10.0f} events/s")
    print(f"    select + decode only:          {decode_only:10.0f} events/s")
    print(f"ratio (b)/(a) = {result['append_ratio']:.2f}  (goal >= 1.0)")
    print(f"ratio (c)     = {result['rebuild_ratio']:.2f}  (goal >= 0.3)")


if __name__ == "__main__":
    main()
