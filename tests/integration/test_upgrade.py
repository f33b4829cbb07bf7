"""Upgrades keep working: a data dir written by the previous release (the committed fixture,
made by tests/fixtures/make_release_fixture.py with that release's code) opens under this
code; its old events are upcast (SearchTaskFailed v1 -> v2 gains ``reason``), the views whose
schema changed are rebuilt from the events, and nothing it held is lost."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from uuid import UUID

import pykka
import pytest

from adapters.store import EventHistory
from domain.parsing import parse_command
from domain.rank import RANK_TARGETS_ID, RankTargets, SearchTask
from domain.rank_commands import Reparse
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.fixtures.make_release_fixture import TABLES
from tests.helpers import add_cmd

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-0.1"


@pytest.fixture
def old_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    data.chmod(0o700)
    (data / "master.key").chmod(0o600)  # git keeps no file modes but the executable bit
    return data


@pytest.fixture
def expected() -> dict:
    return json.loads((FIXTURE / "expected.json").read_text())


@pytest.fixture
def upgraded(old_data: Path) -> Iterator[Runtime]:
    rt = bootstrap(old_data)
    yield rt
    rt.close()
    pykka.ActorRegistry.stop_all()


def _columns(db: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _rows(rt: Runtime) -> dict[str, list[list[object]]]:
    rt.settle()
    with rt.reader() as conn:
        return {name: [list(r) for r in conn.execute(sql)] for name, sql in TABLES.items()}


def test_the_fixture_is_really_the_old_release(old_data: Path) -> None:
    assert "reason" not in _columns(old_data / "views.sqlite", "search_tasks")
    assert "schema_version" not in _columns(old_data / "views.sqlite", "projection_tracking")


def _head(events: Path) -> int:
    with closing(sqlite3.connect(events)) as conn:
        return int(conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0])


def test_an_old_data_dir_opens_upcasts_and_rebuilds_with_nothing_lost(
        old_data: Path, expected: dict) -> None:
    head = _head(old_data / "events.sqlite")
    rt = bootstrap(old_data)
    try:
        _check_upgraded(rt, expected, head)
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _check_upgraded(rt: Runtime, expected: dict, head: int) -> None:
    rows = _rows(rt)
    for table in ("proxies", "position_history", "schedules", "target_domains",
                  "rotation_config", "search_tasks"):
        assert rows[table] == expected[table], table
    assert rt.app.recorder.max_notification_id() == head, "opening appended nothing"
    with rt.reader() as conn:
        reasons = dict(conn.execute("SELECT keyword, reason FROM search_tasks"))
        versions = dict(conn.execute("SELECT view, schema_version FROM projection_tracking"))
        devices = {r[0] for r in conn.execute(
            "SELECT device FROM search_tasks UNION SELECT device FROM position_history "
            "UNION SELECT device FROM keywords")}
    assert reasons == {"espresso grinder": None, "pour over kettle": "blocked",
                       "milk frother": "http_error"}, "v1 failures got their reason"
    assert devices == {"desktop"}, "searches from before devices were desktop searches"
    assert versions["rank_tracking"] == 6 and versions["proxies"] == 2
    failed = [e for e in EventHistory(rt.app).log(limit=1000) if e.event == "SearchTaskFailed"]
    assert failed and all(e.data and e.data["reason"] in {"blocked", "http_error"}
                          for e in failed)
    assert all(e.data and e.data["evidence"] == [] for e in failed), "v1/v2 kept no pages"
    [task] = [t for t in expected["search_tasks"] if t[1] == "milk frother"]
    loaded = rt.writer.load(SearchTask, UUID(str(task[0])))
    assert loaded is not None and loaded.state == "failed", "aggregates load from v1 events"
    assert loaded.device == "desktop"
    targets = rt.writer.load(RankTargets, RANK_TARGETS_ID)
    assert targets is not None and targets.keywords
    assert {k["device"] for k in targets.keywords.values()} == {"desktop"}, \
        "keywords tracked before devices replay as desktop keywords"
    every = [rt.writer.load(SearchTask, UUID(str(t[0]))) for t in expected["search_tasks"]]
    assert all(t is not None and t.finished for t in every), "completed v1 tasks load too"
    answered = [t for t in every if t is not None and t.state == "completed"]
    assert answered and all(t.answers and t.evidence == [] and t.definition == ""
                            for t in answered), "their answers are known, their pages not"
    # a re-read of history leaves searches without kept pages as they were
    reread = rt.dispatcher.execute(parse_command(Reparse, {}))
    assert (reread["reread"], reread["revised"], reread["skipped"]["no_pages"]) == \
        (0, [], len(answered))
    assert rt.app.recorder.max_notification_id() == head
    kept = UUID(expected["kept_proxy"])
    [endpoint] = rt.pool.endpoints_for([kept]).get().values()
    assert endpoint.username == "fixture", "credentials still decrypt with their data key"
    assert rt.audit.verify(rt.app.recorder).ok, "upcasting changes no stored byte"


def test_an_upgraded_data_dir_keeps_working_and_rebuilds_the_same(
        upgraded: Runtime, expected: dict) -> None:
    rt = upgraded
    before = _rows(rt)
    added = rt.dispatcher.execute(add_cmd(4321)).id
    rt.runner.rebuild()
    after = _rows(rt)
    assert [p[0] for p in after["proxies"]] == sorted([*(p[0] for p in before["proxies"]),
                                                      added])
    assert {k: v for k, v in after.items() if k != "proxies"} == \
        {k: v for k, v in before.items() if k != "proxies"}
    reply = rt.dispatcher.dispatch("automation:get-tasks", {"state": "failed"})
    assert {t["reason"] for t in reply["data"]} == {"blocked", "http_error"}
