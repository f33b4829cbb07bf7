"""Concurrency under load: projection rebuilds running while other threads settle and send
commands must all finish (a lock-order inversion between the runner's locks once hung every
thread involved), on a real store with the background projector of the host, beside two
CPU-bound processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pykka
import pytest

from domain.commands import UpdateProxy
from domain.parsing import parse_command
from service.bootstrap import bootstrap
from tests.helpers import add_cmd, dump_views
from tests.load import cpu_load, thread_stacks

REBUILDS = 25
DEADLINE = 150.0  # for everything together: a deadlock never finishes, a slow machine does


def _loop(stop: threading.Event, errors: list[BaseException],
          body: Callable[[int], None]) -> threading.Thread:
    def run() -> None:
        n = 0
        try:
            while not stop.is_set():
                body(n)
                n += 1
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_rebuilds_beside_settles_and_commands_always_finish(data_dir: Path) -> None:
    rt = bootstrap(data_dir, batch_size=50)  # small batches: many lock hand-overs
    rt.runner.start()  # the host's background projector
    ids = [rt.dispatcher.execute(add_cmd(3000 + n)).id for n in range(20)]
    stop = threading.Event()
    errors: list[BaseException] = []
    rebuilt = []

    def update(n: int) -> None:
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": ids[n % len(ids)],
                                                          "weight": n % 500 + 1}))

    def rebuild() -> None:
        try:
            for _ in range(REBUILDS):
                rebuilt.append(rt.runner.rebuild())
        except BaseException as exc:
            errors.append(exc)

    with cpu_load(2):
        workers = [_loop(stop, errors, lambda _n: rt.settle()),
                   _loop(stop, errors, lambda _n: rt.settle()),
                   _loop(stop, errors, update),
                   _loop(stop, errors, lambda _n: rt.runner.status())]
        rebuilder = threading.Thread(target=rebuild, daemon=True)
        rebuilder.start()
        deadline = time.monotonic() + DEADLINE
        rebuilder.join(DEADLINE)
        stop.set()
        for worker in workers:
            worker.join(max(0.1, deadline - time.monotonic()))
        stuck = [t for t in (rebuilder, *workers) if t.is_alive()]
        if stuck:  # leave the hung runtime alone: closing it would hang the suite too
            pytest.fail(f"{len(stuck)} threads never finished:\n{thread_stacks()}")
    assert not errors, errors
    assert len(rebuilt) == REBUILDS
    rt.settle()
    incremental = dump_views(rt)
    rt.runner.rebuild()
    assert dump_views(rt) == incremental, "rebuilds under load lost nothing"
    assert incremental["proxies"] and len(incremental["proxies"]) == len(ids)
    rt.close()
    pykka.ActorRegistry.stop_all()
