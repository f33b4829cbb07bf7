"""Helpers every kind of test shares (the one module tests import helpers from; no test
imports another test module or a conftest): read-model dumps, commands, channel calls on a
runtime, the CLI in a subprocess, Chromium detection, address strategies, PNG decoding.

Local servers and sites live in ``scripts.fixtures`` (``servers``, ``sites``,
``serp_site``; the demo and benchmarks use them too) and ``tests.coherence_site``;
running hosts in ``tests.hosts``."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import sqlite3
import struct
import subprocess
import sys
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pykka
from eventsourcing.domain import Aggregate, DomainEvent
from hypothesis import strategies as st

from actors.writer import A, EventWriter
from adapters.browser import LAUNCH_ARGS, find_chromium
from adapters.config import Settings
from adapters.store import Pending
from domain.commands import AddProxy
from domain.errors import BrowserNotFoundError
from domain.parsing import parse_command
from domain.rank import SearchTask
from service.bootstrap import bootstrap
from service.runtime import Runtime

VIEW_TABLES = ("proxies", "rotation_config", "activity_logs")
RANK_TABLES = ("target_domains", "keywords", "search_tasks", "position_history", "schedules",
               "execution_logs")


def dump_views(where: Path | Runtime | Callable[[], Any],
               tables: tuple[str, ...] = VIEW_TABLES) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every read table, sorted, for equality checks: of a views file, of a
    runtime's read models (SQLite or PostgreSQL), or through a connection factory."""
    if isinstance(where, Path):
        conn = sqlite3.connect(where)
    elif isinstance(where, Runtime):
        conn = where.store.connect_read_only()
    else:
        conn = where()
    try:
        return {t: sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {t}").fetchall()),
                          key=repr) for t in tables}
    finally:
        conn.close()


def add_cmd(port: int, user: str | None = None, password: str | None = None,
            host: str = "127.0.0.1", protocol: str = "http") -> AddProxy:
    """An AddProxy for a loopback endpoint."""
    payload: dict[str, object] = {"protocol": protocol, "host": host, "port": port}
    if user:
        payload["username"] = user
    if password:
        payload["password"] = password
    return parse_command(AddProxy, payload)


def files_containing(root: Path, needle: bytes) -> list[str]:
    """Names of files under ``root`` (WAL and journals included) whose bytes contain needle."""
    return sorted(p.name for p in root.rglob("*") if p.is_file() and needle in p.read_bytes())


# --- the CLI in a subprocess -----------------------------------------------------------------

SCRIPT = Path(sys.executable).parent / "vipb"
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "entrypoints.cli"]


class Result:
    """Exit code and outputs of one CLI run."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        """stdout parsed as one JSON document."""
        return json.loads(self.out)


Cli = Callable[..., Result]


def cli_leaves(app: Any) -> dict[tuple[str, ...], Any]:
    """Every command of a typer app, by its path (``("proxy", "list")``): click commands."""
    import typer

    def leaves(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            yield path, command
            return
        for name, sub in subcommands.items():
            yield from leaves(sub, (*path, name))

    return dict(leaves(typer.main.get_command(app), ()))


def cli_runner(data_dir: Path) -> Cli:
    """``run("proxy", "list", input=..., VIPB_X="...")`` runs the real console script on
    ``data_dir`` with the key file as the only key source."""
    env = {**os.environ, "VIPB_DATA_DIR": str(data_dir), "VIPB_KEYRING": "off"}
    env.pop("VIPB_MASTER_KEY", None)

    def run(*args: str, input: str | None = None, **extra_env: str) -> Result:
        proc = subprocess.run([*ENTRY, *args], capture_output=True, text=True,
                              env={**env, **extra_env}, input=input, timeout=120)
        return Result(proc)

    return run


Positions = dict[str, int | None]


def finished_search(keyword: str, engine: str, country: str | None, positions: Positions,
                    device: str = "desktop", depth: int = 10, path: str = "",
                    features: dict[str, int] | None = None) -> SearchTask:
    """A search task (unsaved) that found each domain at its position (None: not ranked
    among ``depth`` results) and completed, as a search records it."""
    task = SearchTask(id=uuid.uuid4(), keyword=keyword, engine=engine, country=country,
                      device=device, depth=depth, domains=dict.fromkeys(positions, True),
                      origin="manual", profile="default", proxy="direct")
    for domain, position in positions.items():
        if position is None:
            task.not_ranked(domain=domain, results_scanned=depth)
        else:
            task.position_recorded(domain=domain, position=position,
                                   url=f"https://{domain}/{path}", results_scanned=depth)
    task.completed(results_scanned=depth, pages=max(1, depth // 10), ranked=1,
                   features=features)
    return task


def record_searches(data_dir: Path, *searches: tuple[str, str | None, str, Positions]
                    ) -> datetime:
    """Record each (keyword, country, device, {domain: position}) search on bing as a
    search records it (SearchTask events), the target domains first; the time after."""
    from domain.rank_commands import AddDomain

    rt = bootstrap(data_dir)
    try:
        for domain in sorted({d for *_rest, positions in searches for d in positions}):
            rt.dispatcher.execute(parse_command(AddDomain, {"domain": domain}))
        for keyword, country, device, positions in searches:
            rt.writer.save(finished_search(keyword, "bing", country, positions, device=device,
                                           depth=20, features={}))
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    return datetime.now(UTC)


# --- runtimes and Chromium -------------------------------------------------------------------

def _chromium_available() -> bool:
    try:
        find_chromium()
    except BrowserNotFoundError:
        return False
    return True


HAVE_CHROMIUM = _chromium_available()


@dataclass
class Watched:
    """A page opened with ``chromium_page``, and what it did: every request it made (the
    URLs), those the page's Content-Security-Policy refused, and what it logged."""

    page: Any
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium_page() -> Iterator[Watched]:
    """A page in a fresh headless Chromium (the one vipb finds), watched."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(find_chromium().path),
                                     headless=True, args=list(LAUNCH_ARGS),
                                     chromium_sandbox=False)
        try:
            watched = Watched(browser.new_page())
            page = watched.page
            page.on("request", lambda r: watched.requests.append(r.url))
            page.on("requestfailed", lambda r: watched.blocked.append(r.url)
                    if r.failure == "csp" else None)
            page.on("console", lambda m: watched.console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: watched.console.append(f"pageerror: {e}"))
            yield watched
        finally:
            browser.close()


def open_runtime(root: Path, **settings: object) -> Runtime:
    """A runtime allowed to open loopback pages (the test sites)."""
    options: dict[str, object] = {"allow_private_targets": True, **settings}
    return bootstrap(root, settings=Settings(data_dir=root, **options))  # type: ignore[arg-type]


@contextlib.contextmanager
def running(root: Path, **settings: object) -> Iterator[Runtime]:
    """``open_runtime``, closed (its actors stopped) when the block ends."""
    rt = open_runtime(root, **settings)
    try:
        yield rt
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def call(rt: Runtime, channel: str, **payload: Any) -> Any:
    """Dispatch and return ``data``; fail the test with the error otherwise."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert reply["success"], f"{channel} failed: {reply.get('error')}"
    return reply["data"]


def refuse(rt: Runtime, channel: str, **payload: Any) -> str:
    """Dispatch expecting a refusal; return its error line."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert not reply["success"], f"{channel} unexpectedly succeeded: {reply.get('data')}"
    error: str = reply["error"]
    return error


def evaluate(rt: Runtime, tab_id: str, expression: str) -> Any:
    """Evaluate JavaScript in a tab's page."""
    return rt.tabs().tab(tab_id).get().evaluate(expression).get()


FRAME_PROBE = "document.getElementById('frame').contentWindow.frameProbe"


def png_pixels(data: str) -> list[list[tuple[int, int, int, int]]]:
    """Rows of RGBA pixels of a base64 PNG as Chromium writes them (8-bit RGBA for canvases,
    8-bit RGB for screenshots; not interlaced): read here, outside the page, where no guard
    touches what is read. RGB pixels get alpha 255."""
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) in ((8, 6, 0), (8, 2, 0)), \
        "expected 8-bit RGBA or RGB, not interlaced"
    n = 4 if colour == 6 else 3  # bytes per pixel
    stream, stride, rows = zlib.decompress(b"".join(chunks)), width * n, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = stream[y * (stride + 1)], bytearray(stream[y * (stride + 1) + 1:
                                                               (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - n] if i >= n else 0
            up, corner = previous[i], previous[i - n] if i >= n else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 255
        rows.append([(line[x], line[x + 1], line[x + 2], line[x + 3] if n == 4 else 255)
                     for x in range(0, stride, n)])
        previous = line
    return rows


# --- addresses as attackers spell them --------------------------------------------------------

PRIVATE_V4 = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "198.18.0.0/15")]


@st.composite
def private_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    network = draw(st.sampled_from(PRIVATE_V4))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return ipaddress.IPv4Address(int(network.network_address) + offset)


# drawn from ranges that are all public (11.0.0.0-99.255.255.255, 129.0.0.0-168.255.255.255),
# so the filter below almost never discards one (drawing from the whole space, Hypothesis'
# small-number bias filtered out so many that its health check failed at random)
public_v4 = (st.integers(0x0B000000, 0x63FFFFFF) | st.integers(0x81000000, 0xA8FFFFFF)).map(
    ipaddress.IPv4Address).filter(lambda a: a.is_global and not a.is_multicast)


def _octal(n: int) -> str:
    return "0" + format(n, "o") if n else "0"


@st.composite
def spelling(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """One of the ways a URL host can name ``address`` (WHATWG IPv4 parsing, IPv6 forms)."""
    a, b, c, d = address.packed
    n = int(address)
    forms = [
        str(address), str(n), hex(n), hex(n).upper().replace("X", "x"),
        ".".join(_octal(x) for x in (a, b, c, d)),
        f"{hex(a)}.{b}.{_octal(c)}.{hex(d)}",
        f"{a}.{(b << 16) | (c << 8) | d}",  # a.b24
        f"{a}.{b}.{(c << 8) | d}",  # a.b.c16
        f"{address}.",  # one trailing dot
        f"[::ffff:{address}]", f"[::ffff:{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}]",
        f"[64:ff9b::{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}]",
        f"[2002:{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}::1]",
    ]
    return draw(st.sampled_from(forms))


# --- fakes of the ports, for unit tests of actors --------------------------------------------

class MemoryWriter(EventWriter):
    """The write side kept in memory (no SQLite, no encryption): events are numbered as the
    committer numbers them, and ``load`` replays an aggregate's events into a new object,
    as the real writer does, so an actor that mutates without saving is caught."""

    def __init__(self) -> None:  # no store, no committer: nothing of the parent's state
        self.events: list[Any] = []  # the mutable events aggregates collect

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Replay the aggregate's events (None when it has none or is another type)."""
        aggregate: Any = None
        for recorded in self.events:
            if recorded.originator_id == aggregate_id:
                aggregate = recorded.mutate(aggregate)
        return aggregate if isinstance(aggregate, cls) else None

    def events_of(self, aggregate_id: UUID) -> list[DomainEvent]:
        """The recorded events of one aggregate, oldest first."""
        return [e for e in self.events if e.originator_id == aggregate_id]

    def submit(self, pending: Pending, *aggregates: Aggregate | None) -> None:
        """Record the pending events at once; their notification ids follow the last."""
        events = [e for agg in aggregates if agg is not None for e in agg.collect_events()]
        refused = pending.after.refused if pending.after is not None else None
        if refused is not None:  # behind a refused save: refused too, as by the committer
            pending.set_exception(refused)
            return
        start = len(self.events)
        self.events.extend(events)
        pending.set_result(list(range(start + 1, start + 1 + len(events))))

    def named(self, name: str) -> list[DomainEvent]:
        """The recorded events of one type (class name), oldest first."""
        return [e for e in self.events if type(e).__name__ == name]


class GatedWriter(MemoryWriter):
    """Saves are stored only when the test lets them through (``let``), in order, once
    ``gating`` is on (before that, at once)."""

    def __init__(self, gating: bool = True) -> None:
        super().__init__()
        self.gating = gating
        self.waiting: list[tuple[Pending, list[Any]]] = []
        self.arrived = threading.Condition()

    def submit(self, pending: Pending, *aggregates: Aggregate | None) -> None:
        """Hold the save until ``let`` (or store it now when not gating)."""
        if not self.gating:
            super().submit(pending, *aggregates)
            return
        events = [e for agg in aggregates if agg is not None for e in agg.collect_events()]
        with self.arrived:
            self.waiting.append((pending, events))
            self.arrived.notify_all()

    def let(self, error: BaseException | None = None) -> None:
        """Store (or refuse with ``error``) the oldest save waiting, once one is there."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: bool(self.waiting), 30)
            pending, events = self.waiting.pop(0)
        error = error or (pending.after.refused if pending.after is not None else None)
        if error is not None:  # (refused, or behind one that was: as the committer does)
            pending.set_exception(error)
            return
        start = len(self.events)
        self.events.extend(events)
        pending.set_result(list(range(start + 1, start + 1 + len(events))))


def record_outcome(rt: Runtime, position: int | None, keyword: str = "coffee",
                   domain: str = "example.com", engine: str = "bing",
                   country: str | None = None, fail: bool = False, title: str = "") -> None:
    """Record one finished search through the runtime's writer, as the search worker does
    (queued, then a position or "not ranked", then completed; or failed for good)."""
    task = SearchTask(id=uuid.uuid4(), keyword=keyword, engine=engine, country=country,
                      depth=30, domains={domain: True}, origin="manual", profile="default",
                      proxy="auto", device="desktop")
    if fail:
        task.failed(attempt=1, error="captcha", retry_in=None, reason="blocked")
    elif position is None:
        task.not_ranked(domain=domain, results_scanned=30)
        task.completed(results_scanned=30, pages=1, ranked=0)
    else:
        task.position_recorded(domain=domain, position=position, url=f"https://{domain}/",
                               results_scanned=30, title=title)
        task.completed(results_scanned=30, pages=1, ranked=1)
    rt.writer.save(task)


def record_run(rt: Runtime, schedule_id: str, outcomes: dict[str, int | str | None],
               domain: str = "example.com", engine: str = "bing") -> list[str]:
    """Record one run of a schedule as the scheduler and the search worker do: the run and
    its queued searches in one save, then each search's outcome (``outcomes``: keyword ->
    position, None for "not ranked", or "failed" for a search that failed for good), one
    save per search. Returns the task ids."""
    from domain.rank import Schedule

    schedule = rt.writer.load(Schedule, UUID(schedule_id))
    assert schedule is not None, schedule_id
    tasks = [SearchTask(id=uuid.uuid4(), keyword=keyword, engine=engine, country=None,
                        depth=30, domains={domain: True}, origin=f"schedule:{schedule.name}",
                        profile="default", proxy="auto", device="desktop")
             for keyword in outcomes]
    schedule.ran_on_request(at=datetime.now(UTC), task_ids=[str(t.id) for t in tasks],
                            note=None)
    rt.writer.save(*tasks, schedule)
    for task, outcome in zip(tasks, outcomes.values(), strict=True):
        if outcome == "failed":
            task.failed(attempt=1, error="captcha", retry_in=None, reason="blocked")
        elif outcome is None:
            task.not_ranked(domain=domain, results_scanned=30)
            task.completed(results_scanned=30, pages=1, ranked=0)
        else:
            task.position_recorded(domain=domain, position=int(outcome),
                                   url=f"https://{domain}/", results_scanned=30, title="")
            task.completed(results_scanned=30, pages=1, ranked=1)
        rt.writer.save(task)
    return [str(t.id) for t in tasks]
