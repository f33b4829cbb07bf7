"""Validate 1,000 proxy entries through local proxies: vipb vs a bare asyncio baseline.

Both sides make the same requests (one absolute-form GET per entry through one of several
pproxy instances on 127.0.0.1 to a local echo endpoint) with the same concurrency bound.
vipb's side is the whole `proxy:validate` path: dispatcher, actors, checker, and an event
per result committed to the store. Prints time(vipb) / time(baseline) (goal <= 1.3),
medians of interleaved rounds.
Usage: python -m scripts.bench.health [--entries 1000] [--proxies 4] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("VIPB_KEYRING", "off")

from adapters.config import Settings
from domain.commands import AddProxy, ValidateProxy
from domain.parsing import parse_command
from scripts.fixtures.servers import echo_server_process, pproxy
from service.bootstrap import bootstrap
from service.runtime import Runtime, initialize


async def baseline(ports: list[int], entries: int, url: str, concurrency: int) -> float:
    """Seconds for the same requests with plain asyncio streams."""
    parts = urlsplit(url)
    request = (f"GET {url} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
               "Proxy-Authorization: Basic dTpw\r\n\r\n").encode()
    gate = asyncio.Semaphore(concurrency)

    async def one(port: int) -> None:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            data = await reader.read()
            writer.close()
            assert data[:15].endswith(b" 200 OK") or b" 200 " in data[:16], data[:40]

    start = time.perf_counter()
    await asyncio.gather(*(one(ports[i % len(ports)]) for i in range(entries)))
    return time.perf_counter() - start


def ours(rt: Runtime, entries: int, concurrency: int) -> float:
    """Seconds for `proxy:validate --all` over ``entries`` proxies (events included)."""
    command = parse_command(ValidateProxy, {"all": True, "samples": 1,
                                            "concurrency": concurrency})
    start = time.perf_counter()
    results = rt.dispatcher.execute(command)
    elapsed = time.perf_counter() - start
    failed = [r for r in results if r.status != "active"]
    assert len(results) == entries and not failed, failed[:3]
    return elapsed


def main() -> None:
    """Start the servers, run both sides, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--proxies", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        url = stack.enter_context(echo_server_process())
        ports = [stack.enter_context(pproxy("http")).port for _ in range(args.proxies)]
        root = Path(tmp) / "data"
        initialize(root)
        settings = Settings(data_dir=root, check_url=url, allow_private_targets=True)
        rt = stack.enter_context(bootstrap(root, settings=settings))
        for i in range(args.entries):
            rt.dispatcher.execute(parse_command(AddProxy, {
                "protocol": "http", "host": "127.0.0.1", "port": ports[i % len(ports)],
                "username": f"user{i}", "password": "pw"}))
        bases, mines, cpu_base, cpu_mine = [], [], [], []
        for _ in range(args.rounds):  # interleaved, so drift hits both sides alike
            cpu = time.process_time()
            bases.append(asyncio.run(baseline(ports, args.entries, url, args.concurrency)))
            cpu_base.append(time.process_time() - cpu)
            cpu = time.process_time()
            mines.append(ours(rt, args.entries, args.concurrency))
            cpu_mine.append(time.process_time() - cpu)
    base, mine = statistics.median(bases), statistics.median(mines)
    result = {"entries": args.entries, "baseline_s": round(base, 3), "vipb_s": round(mine, 3),
              "baseline_cpu_s": round(statistics.median(cpu_base), 3),
              "vipb_cpu_s": round(statistics.median(cpu_mine), 3),
              "ratio": round(mine / base, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"baseline asyncio: {base:.2f}s  vipb validate: {mine:.2f}s  "
              f"for {args.entries} entries via {args.proxies} proxies "
              f"(median of {args.rounds} interleaved rounds)")
        print(f"client CPU: baseline {result['baseline_cpu_s']}s, vipb {result['vipb_cpu_s']}s "
              "(the proxies and the echo server share the same 2 cores)")
        print(f"ratio vipb/baseline = {mine / base:.2f}  (goal <= 1.3)")


if __name__ == "__main__":
    main()
