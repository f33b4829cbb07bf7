"""vipb against its peer, crawlee-python, on the same rank-tracking job (issue 34).

Every side reads one results page for each of ``--keywords`` keywords from the same local
engine (``scripts/fixtures/serp_site``), through the same local HTTP proxy (pproxy),
``--concurrency`` searches at a time, and the rounds interleave the sides so that a busy
machine slows them alike. The browser tier (Google's markup, Debian's Chromium):

- ``vipb``: ``vipb rank run`` without a host (the CLI process runs the searches itself);
- ``vipb host``: ``vipb rank run`` against a running ``vipb host run`` (started before the
  clock, as it runs for months);
- ``crawlee``: crawlee's ``PlaywrightCrawler`` (an incognito page per request, its default
  fingerprints), installed by this script in its own venv (``--peer-venv``; never a
  dependency of vipb), run by ``scripts/bench/peer_crawlee.py``.

The HTTP tier (Bing's markup, ``--http-keywords`` keywords: each takes milliseconds):

- ``vipb http``: ``vipb rank run`` against a running host, Bing's definition fetching over
  HTTP (``fetch = "auto"``) as the profile's Chrome (curl_cffi);
- ``crawlee http``: crawlee's ``ParselCrawler`` on its curl-impersonate client.

Per side: keywords per minute (wall time of the command a user runs; the host's start is not
counted), CPU seconds of its whole process tree over that window (Chromium included; see
``TreeMeter``), peak PSS of the tree (sampled every 100 ms from ``smaps_rollup``) and that
peak per search running at once (``--concurrency``), proxy
bytes per search (a counting relay in front of the proxy), and how many keywords were read
at the right position. Prints medians and ratios against crawlee.

Usage: python -m scripts.bench.peer [--keywords 60] [--rounds 3] [--concurrency 2] [--json]
       [--tier browser|http|both] [--sides "vipb host" crawlee ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

os.environ.setdefault("VIPB_KEYRING", "off")

from adapters.browser import LAUNCH_ARGS, find_chromium, sandbox_possible
from adapters.config import Settings
from adapters.serp import Engines
from domain.ranking import rank
from scripts.fixtures.serp_site import SerpSite, serp_site
from scripts.fixtures.servers import pproxy
from scripts.proctree import descendants, own_cpu, pss_kib
from service.bootstrap import bootstrap
from service.runtime import initialize

CRAWLEE = "crawlee[playwright,parsel,curl-impersonate]==1.11.0"
TARGET = "target.example"
ROOT = Path(__file__).resolve().parents[2]
VIPB = [sys.executable, "-m", "entrypoints.cli"]
# the organic result links as a crawlee user would select them (Google's ad block and
# "Images for" box are not div.g; Bing's ads and carousels are not li.b_algo of the list);
# vipb reads the page with its definition
PEER_LINKS = {"google": "#rso div.g a[href]:has(h3)", "bing": "#b_results > li.b_algo h2 a[href]"}
PAGE_KIB = 200  # each results page padded to this (real ones are hundreds of KiB)


# --- measuring a process tree ----------------------------------------------------------------

def tree_of(roots: list[int]) -> list[int]:
    """``roots`` and every process below them, now."""
    return [pid for root in roots for pid in (root, *descendants(root))]


class TreeMeter:
    """Samples the process trees under ``roots()`` every ``every`` seconds until stopped:
    ``peak_kib``, the highest summed PSS, and ``cpu``, the CPU seconds each process ran
    while measured (its last sample less what it had run when the meter started).

    Not ``RUSAGE_CHILDREN``: Playwright's driver does not wait for Chromium when its client
    exits, so Chromium's time never reaches the caller's rusage (it undercounted both
    browser sides nearly threefold). A process that ends between samples loses at most
    ``every`` seconds of its time."""

    def __init__(self, roots: Callable[[], list[int]], every: float = 0.1) -> None:
        self.peak_kib = 0
        self._roots, self._every = roots, every
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @property
    def cpu(self) -> float:
        """CPU seconds of the trees while measured."""
        return sum(last - self._start.get(pid, 0.0) for pid, last in self._last.items())

    def __enter__(self) -> TreeMeter:
        for pid in tree_of(self._roots()):
            self._start[pid] = self._last[pid] = own_cpu(pid) or 0.0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._measure()

    def _measure(self) -> None:
        pids = tree_of(self._roots())
        self.peak_kib = max(self.peak_kib, pss_kib(pids))
        for pid in pids:
            used = own_cpu(pid)
            if used is not None:
                self._last[pid] = used

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._measure()
            self._stop.wait(self._every)


class Relay:
    """A TCP relay on 127.0.0.1 in front of ``upstream`` that counts the bytes both ways."""

    def __init__(self, upstream: int) -> None:
        self.bytes = 0
        self.port = 0
        self._upstream = upstream
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    self.bytes += len(data)
                    writer.write(data)
                    await writer.drain()
            with contextlib.suppress(OSError):
                writer.close()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start() -> None:
            server = await asyncio.start_server(client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def take(self) -> int:
        """Bytes relayed since the last take."""
        counted, self.bytes = self.bytes, 0
        return counted


# --- the job ---------------------------------------------------------------------------------

@dataclass
class Job:
    """One round's keywords (with where the target ranks) on the local engine."""

    site: SerpSite
    words: dict[str, int] = field(default_factory=dict)  # keyword -> expected position
    engine: str = "google"  # whose markup: google (browser tier) or bing (HTTP tier)

    def make(self, count: int, round_no: int) -> None:
        """``count`` new keywords, each with the target at its own place in 1..10."""
        self.words = {}
        for i in range(count):
            word = f"peer {round_no} {i}"
            results = [f"https://site{j}.example/{i}" for j in range(10)]
            place = (i * 7) % 10
            results[place] = f"https://www.{TARGET}/{i}"
            self.site.results[word] = results
            self.words[word] = place + 1

    def right(self, found: dict[str, int | None]) -> int:
        """How many keywords were read at their position."""
        return sum(found.get(word) == place for word, place in self.words.items())


@dataclass
class Sample:
    """One side's numbers in one round."""

    per_min: float
    cpu: float
    pss_mib: float
    proxy_kib: float
    right: int


def _env(site: SerpSite, data: Path, concurrency: int) -> dict[str, str]:
    return {**os.environ, "VIPB_DATA_DIR": str(data), "VIPB_KEYRING": "off",
            "VIPB_ENGINE_URLS": json.dumps(site.engine_urls()),
            "VIPB_ALLOW_PRIVATE_TARGETS": "true", "VIPB_SEARCH_CONCURRENCY": str(concurrency),
            "PYTHONUNBUFFERED": "1"}


def _prepare_vipb(data: Path, job: Job, proxy_port: int) -> None:
    """A data dir tracking the round's keywords (one results page each) behind the proxy."""
    initialize(data)
    rt = bootstrap(data, settings=Settings(data_dir=data, allow_private_targets=True,
                                           engine_urls=job.site.engine_urls()))
    try:
        def call(channel: str, **payload: Any) -> Any:
            reply = rt.dispatcher.dispatch(channel, payload)
            assert reply["success"], reply
            return reply["data"]

        call("proxy:add", protocol="http", host="127.0.0.1", port=proxy_port,
             max_concurrency=1000)
        call("automation:add-domain", domain=TARGET)
        for word in job.words:
            call("automation:add-keyword", keyword=word, engine=job.engine, depth=10)
        call("privacy:set-fingerprint", profile="default", seed=1, os=["windows"])
    finally:
        rt.close()


def _positions_of(data: Path) -> dict[str, int | None]:
    done = subprocess.run([*VIPB, "rank", "history", "--json", "--limit", "100000"], cwd=ROOT,
                          capture_output=True,
                          text=True, env={**os.environ, "VIPB_DATA_DIR": str(data)},
                          check=True)
    return {row["keyword"]: row.get("position") for row in json.loads(done.stdout)}


def run_vipb(job: Job, relay: Relay, tmp: Path, concurrency: int) -> Sample:
    """``vipb rank run`` with no host: the command's own process does everything."""
    data = tmp / f"vipb-{time.monotonic_ns()}"
    _prepare_vipb(data, job, relay.port)
    relay.take()
    command = subprocess.Popen([*VIPB, "rank", "run", "--json"], cwd=ROOT,
                               env=_env(job.site, data, concurrency),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with TreeMeter(lambda: [command.pid]) as meter:
        start = time.perf_counter()
        _, err = command.communicate()
        seconds = time.perf_counter() - start
    assert command.returncode == 0, err[-2000:]
    return Sample(len(job.words) / seconds * 60, meter.cpu, meter.peak_kib / 1024,
                  relay.take() / len(job.words) / 1024, job.right(_positions_of(data)))


@contextlib.contextmanager
def _host(job: Job, data: Path, concurrency: int) -> Iterator[subprocess.Popen[str]]:
    host = subprocess.Popen([*VIPB, "host", "run"], cwd=ROOT,
                            env=_env(job.site, data, concurrency), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert host.stderr is not None
        for line in host.stderr:  # its log says when it is ready to search
            if '"host ready to search' in line:
                break
            if '"not ready to search' in line:
                raise RuntimeError(f"vipb host cannot search: {line.strip()}")
        else:
            raise RuntimeError("vipb host did not start")
        threading.Thread(target=lambda: [None for _ in host.stderr or []], daemon=True).start()
        yield host
    finally:
        host.send_signal(signal.SIGTERM)
        try:
            host.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(host.pid, signal.SIGKILL)
            host.wait()


def run_vipb_host(job: Job, relay: Relay, tmp: Path, concurrency: int) -> Sample:
    """``vipb rank run`` against a running host (Chromium up for the browser tier, as a
    host that runs for months has it): the window is the command's."""
    data = tmp / f"host-{time.monotonic_ns()}"
    _prepare_vipb(data, job, relay.port)
    env = _env(job.site, data, concurrency)
    with _host(job, data, concurrency) as host:
        warm = subprocess.run([*VIPB, "tab", "open", "--proxy", "direct", "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True) \
            if job.engine == "google" else None
        if warm is not None and warm.returncode == 0:  # Chromium up before the clock
            subprocess.run([*VIPB, "tab", "close", json.loads(warm.stdout)["id"]], cwd=ROOT,
                           env=env, capture_output=True)
        relay.take()
        cli: list[int] = []
        with TreeMeter(lambda: [host.pid, *cli]) as meter:
            command = subprocess.Popen([*VIPB, "rank", "run", "--json"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
            cli.append(command.pid)
            start = time.perf_counter()
            _, err = command.communicate()
            seconds = time.perf_counter() - start
        assert command.returncode == 0, err[-2000:]
        proxied = relay.take()
        found = _positions_of(data)
    return Sample(len(job.words) / seconds * 60, meter.cpu, meter.peak_kib / 1024,
                  proxied / len(job.words) / 1024, job.right(found))


def peer_python(venv: Path) -> Path:
    """crawlee's venv (made and filled on first use, filled again when ``CRAWLEE``
    changes): its python."""
    python, marker = venv / "bin" / "python", venv / "vipb-bench-installed"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not marker.exists() or marker.read_text() != CRAWLEE:
        print(f"installing {CRAWLEE} into {venv} (once)...", file=sys.stderr, flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", CRAWLEE], check=True)
        marker.write_text(CRAWLEE)
    return python


def run_crawlee(job: Job, relay: Relay, tmp: Path, concurrency: int, python: Path,
                crawler: str = "playwright") -> Sample:
    """crawlee's crawler on the same pages, proxy and concurrency."""
    engine = Engines(base_urls=job.site.engine_urls()).get(job.engine)
    spec = {"crawler": crawler, "proxy": f"http://127.0.0.1:{relay.port}",
            "concurrency": concurrency, "chromium": str(find_chromium().path),
            "args": list(LAUNCH_ARGS), "sandbox": sandbox_possible(),
            "links": PEER_LINKS[job.engine],
            "urls": {word: engine.url(word, 0, None, 0) for word in job.words}}
    storage = tmp / f"crawlee-{time.monotonic_ns()}"
    env = {**os.environ, "CRAWLEE_STORAGE_DIR": str(storage), "CRAWLEE_PURGE_ON_START": "1"}
    relay.take()
    command = subprocess.Popen([str(python), str(Path(__file__).with_name("peer_crawlee.py"))],
                               cwd=tmp, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with TreeMeter(lambda: [command.pid]) as meter:
        start = time.perf_counter()
        out, err = command.communicate(json.dumps(spec))
        seconds = time.perf_counter() - start
    assert command.returncode == 0, err[-3000:]
    result = json.loads(out)
    if result["failed"] or len(result["found"]) < len(job.words):
        print(f"crawlee: {len(result['failed'])} failed ({result['failed'][:2]}), "
              f"{len(result['found'])} read", file=sys.stderr)
    found: dict[str, int | None] = {}
    for word, links in result["found"].items():  # Google's /url?q=<result> links
        urls = [parse_qs(urlsplit(link).query).get("q", [link])[0] for link in links]
        found[word] = rank(urls, {TARGET: False})[0].position
    return Sample(len(job.words) / seconds * 60, meter.cpu, meter.peak_kib / 1024,
                  relay.take() / len(job.words) / 1024, job.right(found))


BROWSER_SIDES = ("vipb", "vipb host", "crawlee")
HTTP_SIDES = ("vipb http", "crawlee http")
COLUMNS = ("per_min", "cpu", "pss_mib", "proxy_kib", "right")
_JOBS = itertools.count()


def _rounds(sides: tuple[str, ...], runs: dict[str, Callable[[], Sample]], job: Job,
            keywords: int, rounds: int, quiet: bool) -> dict[str, list[Sample]]:
    """``rounds`` interleaved rounds of ``sides`` (who goes first rotates)."""
    samples: dict[str, list[Sample]] = {side: [] for side in sides}
    for n in range(rounds):
        order = sides[n % len(sides):] + sides[:n % len(sides)]
        for side in order:
            job.make(keywords, next(_JOBS))  # new keywords each run
            samples[side].append(runs[side]())
            if not quiet:
                s = samples[side][-1]
                print(f"round {n + 1} {side:>12}: {s.per_min:7.1f} keywords/min, "
                      f"CPU {s.cpu:5.1f} s, peak PSS {s.pss_mib:5.0f} MiB, proxy "
                      f"{s.proxy_kib:5.0f} KiB/search, {s.right}/{keywords} right",
                      flush=True)
    return samples


def _ratios(summary: dict[str, dict[str, float]]) -> list[tuple[str, str, str, float, str]]:
    """(side, what, against, ratio, goal) for the sides measured."""
    wanted = [("vipb", "per_min", "crawlee", ">= 1.2"), ("vipb", "pss_mib", "crawlee", "<= 0.8"),
              ("vipb host", "per_min", "crawlee", ">= 1.2"),
              ("vipb host", "pss_mib", "crawlee", "<= 0.8"),
              ("vipb http", "per_min", "crawlee http", ">= 1.2"),
              ("vipb http", "pss_mib", "crawlee http", ""),
              ("vipb http", "per_min", "vipb host", ">= 5")]
    return [(side, what, against, summary[side][what] / summary[against][what], goal)
            for side, what, against, goal in wanted
            if side in summary and against in summary and summary[against][what]]


def main() -> None:
    """Interleaved rounds per tier; medians per side; ratios against crawlee."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=60)
    parser.add_argument("--http-keywords", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--tier", choices=("browser", "http", "both"), default="both")
    parser.add_argument("--peer-venv", type=Path,
                        default=Path.home() / ".cache" / "vipb-bench" / "crawlee-1.11.0")
    parser.add_argument("--sides", nargs="+", metavar="SIDE",
                        choices=(*BROWSER_SIDES, *HTTP_SIDES),
                        help="only these sides (quick looks; ratios need both ends)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chosen = set(args.sides or (*BROWSER_SIDES, *HTTP_SIDES))
    python = peer_python(args.peer_venv)
    samples: dict[str, list[Sample]] = {}
    with tempfile.TemporaryDirectory() as folder, serp_site() as site, \
            pproxy("http") as proxy:
        tmp, relay, job = Path(folder), Relay(proxy.port), Job(site)
        site.padding = PAGE_KIB * 1024
        c = args.concurrency
        runs: dict[str, Callable[[], Sample]] = {
            "vipb": lambda: run_vipb(job, relay, tmp, c),
            "vipb host": lambda: run_vipb_host(job, relay, tmp, c),
            "crawlee": lambda: run_crawlee(job, relay, tmp, c, python),
            "vipb http": lambda: run_vipb_host(job, relay, tmp, c),
            "crawlee http": lambda: run_crawlee(job, relay, tmp, c, python, "http")}
        if args.tier in ("browser", "both"):
            job.engine = "google"
            samples |= _rounds(tuple(s for s in BROWSER_SIDES if s in chosen), runs, job,
                               args.keywords, args.rounds, args.json)
        if args.tier in ("http", "both"):
            job.engine = "bing"
            samples |= _rounds(tuple(s for s in HTTP_SIDES if s in chosen), runs, job,
                               args.http_keywords, args.rounds, args.json)
    summary = {side: {key: float(statistics.median(getattr(s, key) for s in rows))
                      for key in COLUMNS} for side, rows in samples.items()}
    for row in summary.values():  # what each search running at once costs in memory
        row["pss_per_search"] = row["pss_mib"] / args.concurrency
    ratios = _ratios(summary)
    if args.json:
        print(json.dumps({"sides": summary, "ratios": [
            {"side": side, "measure": what, "against": against, "ratio": ratio, "goal": goal}
            for side, what, against, ratio, goal in ratios]}, indent=2))
        return
    print(f"\n{args.rounds} rounds, {args.concurrency} at a time, one results page per "
          "keyword, one local HTTP proxy (medians; browser tier "
          f"{args.keywords} keywords, HTTP tier {args.http_keywords}):")
    print(f"{'':>12} {'kw/min':>8} {'CPU s':>7} {'PSS MiB':>8} {'per search':>10} "
          f"{'proxy KiB':>10} {'right':>6}")
    for side, row in summary.items():
        print(f"{side:>12} {row['per_min']:8.1f} {row['cpu']:7.1f} {row['pss_mib']:8.0f} "
              f"{row['pss_per_search']:10.0f} {row['proxy_kib']:10.0f} {row['right']:6.0f}")
    names = {"per_min": "keywords/min", "pss_mib": "peak PSS"}
    for side, what, against, ratio, goal in ratios:
        aim = f" (goal {goal})" if goal else ""
        print(f"{side}: {ratio:.2f}x {against}'s {names[what]}{aim}")


if __name__ == "__main__":
    main()
