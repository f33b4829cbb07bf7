"""Views are rebuilt from the events, never trusted blindly: a views database damaged on disk
(overwritten, truncated) no longer stops the runtime, and views ahead of the event store
(the events put back from an older copy) are rebuilt, so a new write shows in them. Both are
said in the status."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pykka
import pytest

from service.bootstrap import bootstrap
from service.runtime import initialize
from service.status import health_report
from tests.helpers import add_cmd, call


def _proxies(data_dir: Path) -> tuple[list[int], str | None]:
    rt = bootstrap(data_dir)
    try:
        rt.settle()
        with rt.reader() as conn:
            ports = sorted(r[0] for r in conn.execute("SELECT port FROM proxies"))
        return ports, rt.status()["views_note"]
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def _add(data_dir: Path, *ports: int) -> None:
    rt = bootstrap(data_dir)
    try:
        for port in ports:
            rt.dispatcher.execute(add_cmd(port))
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_damaged_views_database_is_set_aside_and_rebuilt(data_dir: Path,
                                                           damage: str) -> None:
    _add(data_dir, 3101, 3102)
    views = data_dir / "views.sqlite"
    size = views.stat().st_size
    with open(views, "r+b") as f:
        if damage == "random bytes":
            f.write(os.urandom(size))
        else:
            f.truncate(size // 3)
    for suffix in ("-wal", "-shm"):
        Path(f"{views}{suffix}").unlink(missing_ok=True)
    ports, note = _proxies(data_dir)
    assert ports == [3101, 3102]
    assert note is not None and "could not be opened" in note and "rebuilt" in note
    assert list(data_dir.glob("views.sqlite.damaged-*")), "the damaged file is kept"


def test_views_ahead_of_a_store_put_back_from_an_older_copy_are_rebuilt(
        data_dir: Path, tmp_path: Path) -> None:
    _add(data_dir, 3201, 3202)
    older = tmp_path / "older"
    older.mkdir()
    for part in data_dir.glob("events.sqlite*"):
        shutil.copy2(part, older / part.name)
    _add(data_dir, 3203, 3204)
    for part in data_dir.glob("events.sqlite*"):
        part.unlink()
    for part in older.iterdir():
        shutil.copy2(part, data_dir / part.name)  # the views still hold 3203 and 3204
    ports, note = _proxies(data_dir)
    assert ports == [3201, 3202], "the views say what the store holds"
    assert note is not None and "ahead of the event store" in note
    _add(data_dir, 3205)
    ports, _note = _proxies(data_dir)
    assert ports == [3201, 3202, 3205], "a new write shows in the views"


def test_views_made_from_another_data_dirs_events_are_rebuilt(data_dir: Path,
                                                              tmp_path: Path) -> None:
    """Views of another data dir put in this one (a restore from the wrong backup) are not
    ahead of this store's head, yet hold other events: the views remember whose event
    they applied last, and the store is asked at start (issue 30, points 1 and 2)."""
    _add(data_dir, *range(3301, 3311))  # ten proxies: a head well past the other's views
    other = tmp_path / "other"
    initialize(other)
    _add(other, 3401, 3402)
    for part in data_dir.glob("views.sqlite*"):
        part.unlink()
    for part in other.glob("views.sqlite*"):
        shutil.copy2(part, data_dir / part.name)
    ports, note = _proxies(data_dir)
    assert ports == list(range(3301, 3311)), "this store's proxies, none of the other's"
    assert note is not None and "made from other events than this store holds" in note
    ports, note = _proxies(data_dir)
    assert note is None, "checked and found right at the next start"


def test_views_damaged_while_running_are_set_aside_and_rebuilt(data_dir: Path) -> None:
    """Overwritten under an open runtime: the next catch-up finds the damage, sets the file
    aside and rebuilds the views in a new one; reads give the whole answer after."""
    rt = bootstrap(data_dir)
    try:
        for port in (3501, 3502, 3503):
            rt.dispatcher.execute(add_cmd(port))
        rt.settle()
        views = data_dir / "views.sqlite"
        with open(views, "r+b") as f:  # in place: the runtime's connection still has it
            f.write(os.urandom(views.stat().st_size))
        rt.dispatcher.execute(add_cmd(3504))
        ports = sorted(p["port"] for p in call(rt, "proxy:list"))  # a read finds it
        status = rt.status()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    assert ports == [3501, 3502, 3503, 3504]
    note = status["views_note"]
    assert note is not None and "damaged while running" in note, note
    assert list(data_dir.glob("views.sqlite.damaged-*")), "the damaged file is kept"
    assert (status["health"], status["views_check"]) == ("ok", "ok")


def test_status_is_degraded_while_views_and_store_disagree(data_dir: Path,
                                                          tmp_path: Path) -> None:
    """Views that disagree with the store are never reported as healthy, whatever made
    them so while a runtime had them open (another data dir's views copied in)."""
    _add(data_dir, 3601, 3602, 3603, 3604)
    other = tmp_path / "other"
    initialize(other)
    _add(other, 3701)
    rt = bootstrap(data_dir)
    try:
        assert (rt.status()["health"], rt.status()["views_check"]) == ("ok", "ok")
        with rt.reader():  # the runtime's own views file, swapped for the other's under it
            pass
        rt.runner.stop()
        for part in data_dir.glob("views.sqlite*"):
            part.unlink()
        for part in other.glob("views.sqlite*"):
            shutil.copy2(part, data_dir / part.name)
        from projections.runner import ProjectionRunner

        rt.runner = ProjectionRunner(rt.app.event_log, rt.app.event_log.decode,
                                     Exception, data_dir / "views.sqlite",
                                     rt.runner.views)
        report = health_report(rt)
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    assert report["health"] == "degraded"
    assert "made from other events" in report["views_check"]
