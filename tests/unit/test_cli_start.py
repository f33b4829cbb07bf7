"""A CLI command starts without loading what only some commands use: every `vipb` call (and
every script calling it in a loop) pays for what the CLI imports at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# PostgreSQL's driver (SQLite is the default store), the charting library (reports), the
# browser stack (tabs, doctor) and the HTTP client (searches run in the host or in-process)
HEAVY = ("psycopg", "pygal", "playwright", "curl_cffi", "adapters.browser", "adapters.doctor")


def _loaded_at_start(*code: str) -> list[str]:
    probe = "; ".join(["import sys", "import entrypoints.cli.main", *code,
                       f"print(__import__('json').dumps([m for m in {HEAVY!r} "
                       "if m in sys.modules]))"])
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "VIPB_KEYRING": "off"}, check=True)
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_cli_starts_without_the_driver_charts_browser_or_http_client() -> None:
    assert _loaded_at_start() == []


def test_the_probe_sees_a_module_once_it_is_loaded() -> None:
    """(the check above can fail: a module the CLI does load shows up)"""
    assert _loaded_at_start("import pygal") == ["pygal"]
