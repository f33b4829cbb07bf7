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
from tests.helpers import add_cmd


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
