"""SIGKILL during an append storm: no acknowledged event is lost, projections catch up to
exactly what a full rebuild produces."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.bootstrap import bootstrap
from tests.helpers import dump_views

ROOT = Path(__file__).resolve().parents[2]


def storm_then_kill(data_dir: Path, acks_before_kill: int) -> list[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crash_writer", str(data_dir), "8"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acks: list[tuple[str, int]] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            _, aggregate_id, position = line.split()
            acks.append((aggregate_id, int(position)))
            if len(acks) >= acks_before_kill:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return acks


@pytest.mark.parametrize("acks_before_kill", [150, 700])
def test_no_acknowledged_event_is_lost(data_dir: Path, tmp_path: Path,
                                       acks_before_kill: int) -> None:
    acks = storm_then_kill(data_dir, acks_before_kill)
    assert len(acks) == acks_before_kill
    with bootstrap(data_dir) as rt:
        head = rt.app.recorder.max_notification_id() or 0
        assert head >= max(position for _, position in acks)
        stored = {n.id: str(n.originator_id)
                  for n in rt.app.recorder.select_notifications(start=1, limit=head + 1)}
        # an ack's position is the last notification of its commit; an add commits the
        # proxy's event and then its endpoint claim, so look at the commit's last two ids
        missing = [(agg, pos) for agg, pos in acks
                   if pos not in stored or agg not in (stored[pos], stored.get(pos - 1))]
        assert missing == []
        rt.settle()  # resume the views the killed process left behind
        caught_up = dump_views(rt)
        assert len(caught_up["activity_logs"]) == head
        rt.runner.rebuild()
        assert dump_views(rt) == caught_up
