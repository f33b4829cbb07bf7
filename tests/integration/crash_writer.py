"""A writer process for the crash test: an append storm that prints every acknowledgement.

Run as ``python -m tests.integration.crash_writer DATA_DIR THREADS``. Each line
``ACK <aggregate-id> <notification-id>...`` is printed only after the command returned,
i.e. after its transaction committed. The parent kills this process with SIGKILL.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from domain.commands import UpdateProxy
from domain.parsing import parse_command
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import add_cmd

_print_lock = threading.Lock()


def ack(aggregate_id: str, position: int) -> None:
    with _print_lock:
        sys.stdout.write(f"ACK {aggregate_id} {position}\n")
        sys.stdout.flush()


def producer(rt: Runtime, n: int) -> None:
    added = rt.dispatcher.execute(add_cmd(10_000 + n, f"user{n}", f"pw{n}"))
    ack(added.id, added.position)
    weight = 1
    while True:
        weight = weight % 999 + 1
        done = rt.dispatcher.execute(parse_command(UpdateProxy, {
            "proxy_id": added.id, "weight": weight + 1}))
        ack(done.id, done.position)


def main() -> None:
    rt = bootstrap(Path(sys.argv[1]))
    rt.runner.start()  # projections run during the storm, so the kill can land mid-batch
    threads = [threading.Thread(target=producer, args=(rt, n), daemon=True)
               for n in range(int(sys.argv[2]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
