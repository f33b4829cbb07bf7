"""A CLI command starts without loading what only some commands use: every `vipb` call (and
every script calling it in a loop) pays for what the CLI imports at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# PostgreSQL's driver (SQLite is the default store), the charting library (reports), the
# browser stack (tabs, doctor) and the HTTP client (searches run in the host or in-process)
HEAVY = ("psycopg", "pygal", "playwright", "curl_cffi", "adapters.browser", "adapters.doctor")


def _loaded_at_start(*code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    probe = "; ".join(["import sys", "import entrypoints.cli.main", *code,
                       f"print(__import__('json').dumps([m for m in {modules!r} "
                       "if m in sys.modules]))"])
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "VIPB_KEYRING": "off"}, check=True)
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_cli_starts_without_the_driver_charts_browser_or_http_client() -> None:
    assert _loaded_at_start() == []


def test_the_cli_starts_without_the_views() -> None:
    """(every view's event handlers: a command that talks to a host reads none)"""
    views = ("projections.rank", "projections.alerts", "projections.proxies")
    assert _loaded_at_start(modules=views) == []
    assert _loaded_at_start("from projections import ALL_VIEWS", modules=views) == list(views)


def test_the_cli_starts_without_the_event_stores_engine() -> None:
    """(eventsourcing's application, the cipher, the backends: a command talking to a host
    opens no store)"""
    parts = ("adapters.store._app", "adapters.store._backend", "adapters.store._mapper")
    assert _loaded_at_start(modules=parts) == []
    assert _loaded_at_start("from adapters.store import open_backend", modules=parts) == \
        list(parts)


def test_the_cli_starts_without_the_rank_aggregates() -> None:
    """(their ~35 event classes took ~0.1 s to import, for naming a search in `rank`)"""
    assert _loaded_at_start(modules=("domain.rank",)) == []
    assert _loaded_at_start("import service.runtime", modules=("domain.rank",)) == \
        ["domain.rank"]


def test_the_probe_sees_a_module_once_it_is_loaded() -> None:
    """(the check above can fail: a module the CLI does load shows up)"""
    assert _loaded_at_start("import pygal") == ["pygal"]


def _gc_probe(body: str) -> dict[str, int]:
    """Run ``body`` in a fresh interpreter that counts the collector's collections (in
    ``starts``); it prints a JSON object."""
    code = "\n".join(["import gc, json, sys", "starts = []",
                      "gc.callbacks.append(lambda phase, info: starts.append(info['generation'])"
                      " if phase == 'start' else None)", body])
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "VIPB_KEYRING": "off"}, check=True)
    found: dict[str, int] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_cli_loads_with_the_collector_off_and_freezes_what_it_built() -> None:
    seen = _gc_probe("from entrypoints.cli.launch import load\nbefore = len(starts)\n"
                     "run = load()\n"
                     "print(json.dumps({'collections': len(starts) - before,"
                     " 'enabled': gc.isenabled(),"
                     " 'frozen': gc.get_freeze_count()}))")
    assert seen["collections"] == 0, "the collector ran while the CLI loaded"
    assert seen["enabled"], "the collector is on again for the command"
    assert seen["frozen"] > 10_000, "what loading built is frozen"


def test_loading_the_cli_with_the_collector_on_does_collect() -> None:
    """(the check above can fail: loading makes enough objects to set collections off)"""
    seen = _gc_probe("import entrypoints.cli.main\n"
                     "print(json.dumps({'collections': len(starts)}))")
    assert seen["collections"] > 0


def test_a_finished_command_leaves_its_heap_frozen_for_the_exit() -> None:
    seen = _gc_probe("from entrypoints.cli.launch import main\nsys.argv = ['vipb', '--help']\n"
                     "try:\n    main()\nexcept SystemExit:\n    pass\n"
                     "print(json.dumps({'tracked': len(gc.get_objects()),"
                     " 'frozen': gc.get_freeze_count()}))")
    assert seen["frozen"] > 10_000 and seen["tracked"] < 100, seen


def test_a_command_line_builds_only_the_group_or_command_it_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(typer builds click's objects for every command of the app it runs: ~0.1 s a call)"""
    from entrypoints.cli.main import app, app_for

    def named(args: list[str]) -> tuple[list[str | None], list[str | None]]:
        root = app_for(args)
        return [g.name for g in root.registered_groups], [c.name for c in root.registered_commands]

    assert named(["proxy", "list", "--json"]) == (["proxy"], [])
    assert named(["--data-dir", "proxy", "-v", "rank", "run"]) == (["rank"], [])
    assert named(["--tz", "UTC", "status"]) == ([], ["status"])
    assert len(app.registered_groups) > 10
    for whole in ([], ["--help"], ["prxy", "list"], ["--", "proxy"]):
        assert app_for(whole) is app, whole  # root help, and a typo's suggestions
    monkeypatch.setenv("_VIPB_COMPLETE", "complete_bash")
    assert app_for(["proxy", "list"]) is app  # completion offers every name
