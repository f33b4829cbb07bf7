"""Benchmark several hosts on one PostgreSQL store, against baselines measured in the same run.

A durable throwaway PostgreSQL server (fsync on) is started for the run, one database per
measurement.

(a) claims/s: T search tasks are queued; 1, then 3 host processes (each ``--workers``
    threads) claim them by the real protocol (load, ``claimable_by``, ``SearchTaskClaimed`` at
    the loaded version, a conflict means another host was first), "search" a local engine
    with a fixed latency (``--latency`` ms; Chromium would dominate on a small machine), and
    record the position and the completion. Prints tasks/s for each and the 3-host/1-host
    ratio (goal >= 2.0).
(b) acknowledged appends/s: ``--producers`` threads per host append one event per save
    through our write path (aggregate -> encrypt -> group commit), 1 then 3 hosts; against
    raw psycopg inserts of event-shaped rows, one transaction per row, same
    ``synchronous_commit`` (goal: our 1-host path >= 0.8 of raw).

Usage: python -m scripts.bench.cluster [--tasks 600] [--appends 3000] [--json]
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import multiprocessing
import os
import random
import socketserver
import tempfile
import threading
import time
import urllib.request
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPB_KEYRING", "off")

from actors.writer import EventWriter
from adapters.sql import PgLocation
from adapters.store import PostgresBackend
from domain.errors import ConcurrencyError
from domain.rank import SearchTask
from scripts.pg_throwaway import WHY_MISSING, PgCluster, find_bin_dir
from service.runtime import initialize

LEASE = timedelta(seconds=60)


class _Engine(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve_engine(latency: float) -> tuple[_Engine, str]:
    """A local "search engine" answering every query after ``latency`` seconds."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency)  # the engine's own latency, not a wait on our side
            body = b'<a href="https://target.example/">1</a>'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = _Engine(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _writer(url: str, master: bytes) -> tuple[EventWriter, Any]:
    backend = PostgresBackend(PgLocation.parse(url))
    keys = backend.open_keystore(master)
    app = backend.open_app(master, keys)
    committer = backend.committer()
    committer.start()
    return EventWriter(app, committer), (app, committer, keys)


def _close(parts: Any) -> None:
    app, committer, keys = parts
    committer.stop()
    app.close()
    keys.close()


def claim_worker(url: str, master: bytes, host: str, task_ids: list[str], workers: int,
                 engine: str, ready: Any, start: Any, out: Any) -> None:
    """One host: ``workers`` threads claim, search and complete tasks until none is left."""
    writer, parts = _writer(url, master)
    done = [0]
    lock = threading.Lock()

    def work(claimer: str, order: list[str]) -> None:
        # each thread claims as a claimer of its own, as each host's tracker does once
        for task_id in order:
            task = writer.load(SearchTask, uuid.UUID(task_id))
            now = datetime.now(UTC)
            if task is None or not task.claimable_by(claimer, now):
                continue
            task.claimed(host_id=claimer, lease_until=now + LEASE, previous=None)
            try:
                writer.save(task)
            except ConcurrencyError:
                continue  # another host (or thread) was first
            with urllib.request.urlopen(engine, timeout=30) as reply:
                reply.read()
            task.position_recorded(domain="target.example", position=1,
                                   url="https://target.example/", results_scanned=1)
            task.completed(results_scanned=1, pages=1, ranked=1)
            writer.save(task)
            with lock:
                done[0] += 1

    orders = []
    for _ in range(workers):
        order = list(task_ids)
        random.shuffle(order)  # hosts and threads race for different tasks first
        orders.append(order)
    threads = [threading.Thread(target=work, args=(f"{host}.{n}", o))
               for n, o in enumerate(orders)]
    ready.put(host)
    start.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _close(parts)
    out.put(done[0])


def append_worker(url: str, master: bytes, host: str, producers: int, per: int,
                  ready: Any, start: Any, out: Any) -> None:
    """One host: ``producers`` threads each save ``per`` events of their own aggregate."""
    writer, parts = _writer(url, master)
    tasks = [SearchTask(id=uuid.uuid4(), keyword=f"{host}-{n}", engine="duckduckgo",
                        country=None, depth=10, domains={}, origin="bench", profile="default",
                        proxy="direct") for n in range(producers)]
    writer.save(*tasks)

    def produce(task: SearchTask) -> None:
        for _ in range(per):
            task.lease_renewed(host_id=host, lease_until=datetime.now(UTC) + LEASE)
            writer.save(task)

    threads = [threading.Thread(target=produce, args=(t,)) for t in tasks]
    ready.put(host)
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((producers * per, time.perf_counter() - began))
    _close(parts)


def run_hosts(target: Any, hosts: int, args: tuple[Any, ...]) -> tuple[list[Any], float]:
    """Start ``hosts`` processes of ``target``, release them together, time them."""
    ctx = multiprocessing.get_context("spawn")  # no threads or connections inherited
    ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target,
                         args=(*args[:2], f"h{n}", *args[2:], ready, start, out))
             for n in range(hosts)]
    for p in procs:
        p.start()
    for _ in procs:  # each has connected and set up: the clock starts for all at once
        ready.get(timeout=300)
    began = time.perf_counter()
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    return results, elapsed


def queue_tasks(url: str, master: bytes, count: int) -> list[str]:
    """``count`` queued search tasks, saved in batches."""
    writer, parts = _writer(url, master)
    ids = []
    for first in range(0, count, 100):
        batch = [SearchTask(id=uuid.uuid4(), keyword=f"kw{n}", engine="duckduckgo",
                            country=None, depth=10, domains={"target.example": False},
                            origin="bench", profile="default", proxy="direct")
                 for n in range(first, min(count, first + 100))]
        writer.save(*batch)
        ids += [str(t.id) for t in batch]
    _close(parts)
    return ids


def raw_inserts(url: str, rows: int) -> float:
    """Rows/s of event-shaped rows, one transaction per row, on one psycopg connection."""
    location = PgLocation.parse(url)
    with closing(location.connect_raw()) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw_events (originator_id uuid, "
                     "originator_version bigint, topic text, state bytea, notification_id "
                     "bigserial, PRIMARY KEY (originator_id, originator_version))")
        state, oid = os.urandom(220), uuid.uuid4()
        began = time.perf_counter()
        for n in range(rows):
            with conn.transaction():
                conn.execute("INSERT INTO raw_events (originator_id, originator_version, "
                             "topic, state) VALUES (%s, %s, %s, %s)",
                             (oid, n + 1, "domain.rank:SearchTask.SearchTaskLeaseRenewed",
                              state), prepare=True)
        return rows / (time.perf_counter() - began)


def synchronous_commit(url: str) -> str:
    """The server's ``synchronous_commit`` (the same for both sides of (b))."""
    with closing(PgLocation.parse(url).connect_raw()) as conn:
        row = conn.execute("SHOW synchronous_commit").fetchone()
    return str(row[0]) if row else "?"


def main() -> None:
    """Run (a) and (b) and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=600)
    parser.add_argument("--workers", type=int, default=4, help="claiming threads per host")
    parser.add_argument("--latency", type=float, default=50.0, help="engine latency, ms")
    parser.add_argument("--appends", type=int, default=3000, help="events per host in (b)")
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit(WHY_MISSING)
    cluster = PgCluster(bin_dir, fast=False)
    cluster.start()
    try:
        result = _measure(args, cluster)
    finally:
        cluster.stop()
    if args.json:
        print(json.dumps(result))
        return
    print(f"PostgreSQL synchronous_commit={result['synchronous_commit']}, engine latency "
          f"{args.latency:.0f} ms, {args.workers} claiming threads per host")
    print(f"(a) claims: 1 host {result['claims_1']:.1f} tasks/s, 3 hosts "
          f"{result['claims_3']:.1f} tasks/s -> 3/1 = {result['claims_ratio']:.2f} "
          "(goal >= 2.0)")
    print(f"(b) appends: raw psycopg {result['raw']:.0f} rows/s; ours 1 host "
          f"{result['appends_1']:.0f}/s ({result['appends_ratio']:.2f} of raw, goal >= 0.8), "
          f"3 hosts {result['appends_3']:.0f}/s")


def _measure(args: argparse.Namespace, cluster: PgCluster) -> dict[str, Any]:
    master = os.urandom(32)
    os.environ["VIPB_MASTER_KEY"] = base64.b64encode(master).decode()
    engine, engine_url = serve_engine(args.latency / 1000)
    result: dict[str, Any] = {}
    try:
        for hosts in (1, 3):
            url = cluster.new_database()
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["VIPB_STORE"] = url
                initialize(Path(tmp) / "data")
            result["synchronous_commit"] = synchronous_commit(url)
            ids = queue_tasks(url, master, args.tasks)
            done, elapsed = run_hosts(claim_worker, hosts,
                                      (url, master, ids, args.workers, engine_url))
            assert sum(done) == len(ids), f"{sum(done)} of {len(ids)} tasks ran once"
            result[f"claims_{hosts}"] = len(ids) / elapsed
            per = args.appends // args.producers
            counts, _ = run_hosts(append_worker, hosts, (url, master, args.producers, per))
            result[f"appends_{hosts}"] = (sum(n for n, _ in counts)
                                          / max(s for _, s in counts))
            if hosts == 1:
                result["raw"] = raw_inserts(url, args.appends)
    finally:
        engine.shutdown()
    result["claims_ratio"] = result["claims_3"] / result["claims_1"]
    result["appends_ratio"] = result["appends_1"] / result["raw"]
    return result


if __name__ == "__main__":
    main()
