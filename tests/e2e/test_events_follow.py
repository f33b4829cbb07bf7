"""`vipb events follow` through the real console script, with and without a host: one JSON
object per line, only the --type events asked for, from --after on, until interrupted."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ENTRY, Cli
from tests.hosts import RunningHost


@contextmanager
def following(data: Path, *args: str) -> Iterator[queue.Queue[str]]:
    """A running `vipb events follow ARGS`; yields a queue of its stdout lines."""
    env = {**os.environ, "VIPB_DATA_DIR": str(data), "VIPB_KEYRING": "off"}
    env.pop("VIPB_MASTER_KEY", None)
    process = subprocess.Popen([*ENTRY, "events", "follow", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield lines
    finally:
        process.terminate()
        process.wait(30)


def _next(lines: queue.Queue[str]) -> dict[str, Any]:
    line = lines.get(timeout=60)
    assert line.endswith("\n") and "\n" not in line[:-1]  # one object, one line
    event: dict[str, Any] = json.loads(line)
    return event


@pytest.mark.parametrize("with_host", [True, False], ids=["host", "in-process"])
def test_follow_prints_one_json_object_per_line_of_the_types_asked_for(
        cli: Cli, tmp_path: Path, with_host: bool) -> None:
    data = tmp_path / "data"
    assert cli("init").code == 0
    assert cli("proxy", "add", "http://127.0.0.1:3001").code == 0  # before --after: not shown
    host = RunningHost(data) if with_host else None
    try:
        head = cli("status", "--json").json()["store_head"]
        with following(data, "--after", str(head), "--json", "--type",
                       "ProxyAdded,ProxyRemoved") as lines:
            added = cli("proxy", "add", "http://127.0.0.1:3002", "--json").json()["id"]
            first = _next(lines)  # read before the removal shreds its data
            assert cli("rotation", "set", "random").code == 0  # not asked for
            assert cli("proxy", "remove", added).code == 0
            second = _next(lines)
            assert [(e["event"], e["aggregate_id"]) for e in (first, second)] == [
                ("ProxyAdded", added), ("ProxyRemoved", added)]
            assert first["notification_id"] > head and first["data"]["port"] == 3002
            assert lines.empty()
    finally:
        if host is not None:
            host.stop()


def test_a_bad_after_is_one_line_and_exit_2(cli: Cli) -> None:
    assert cli("init").code == 0
    result = cli("events", "follow", "--after", "-1")
    assert result.code == 2 and result.err == \
        "vipb: error: after: must be a notification id from 0 to 2^63-1\n"


@pytest.mark.parametrize("with_host", [True, False], ids=["host", "in-process"])
def test_a_type_no_event_has_is_one_line_and_exit_2(cli: Cli, tmp_path: Path,
                                                    with_host: bool) -> None:
    """The types are filtered where the events are read (the host sends only those), so
    a misspelt one is refused at once instead of matching nothing for ever."""
    assert cli("init").code == 0
    host = RunningHost(tmp_path / "data") if with_host else None
    try:
        result = cli("events", "follow", "--type", "ProxyAdded,ProxyAddd")
        assert result.code == 2 and result.err == \
            "vipb: error: events: no event is called 'ProxyAddd'\n"
    finally:
        if host is not None:
            host.stop()
