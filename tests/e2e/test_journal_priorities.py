"""The host's log lines carry journald priorities when stderr is the journal's stream
(issue 32, point 13: `journalctl -p warning` could not filter vipb's JSON lines)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.helpers import ENTRY, Cli


def test_lines_carry_syslog_priorities_under_systemd(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    read, write = os.pipe()
    stream = os.fstat(write)  # what systemd puts in JOURNAL_STREAM for the stream it made
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off",
           "PYTHONUNBUFFERED": "1", "JOURNAL_STREAM": f"{stream.st_dev}:{stream.st_ino}",
           "VIPB_ALLOW_PRIVATE_TARGETS": "1"}  # the host warns about it at start
    host = subprocess.Popen([*ENTRY, "host", "run"], stderr=write, stdout=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    os.close(write)
    lines: list[str] = []
    with os.fdopen(read, encoding="utf-8") as log:
        try:
            for line in log:
                lines.append(line.rstrip("\n"))
                if '"host started' in line:
                    host.send_signal(signal.SIGTERM)
        finally:
            if host.poll() is None:
                host.kill()
            host.wait(60)
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>", "<2>") for line in lines), lines
    by_priority = {(line[:3], json.loads(line[3:])["level"]) for line in lines}
    assert ("<6>", "info") in by_priority and ("<4>", "warning") in by_priority
    assert {level for prefix, level in by_priority if prefix == "<6>"} == {"info"}


def test_no_prefix_when_stderr_is_not_the_journal(cli: Cli, tmp_path: Path) -> None:
    """A JOURNAL_STREAM inherited from elsewhere (a shell started by a unit) names another
    stream: lines stay plain JSON."""
    assert cli("init").code == 0
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off",
           "PYTHONUNBUFFERED": "1", "JOURNAL_STREAM": "1:1"}
    host = subprocess.Popen([*ENTRY, "host", "run"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=env, text=True,
                            start_new_session=True)
    assert host.stderr is not None
    first = host.stderr.readline()
    host.kill()
    host.wait(60)
    assert first.startswith("{"), first
