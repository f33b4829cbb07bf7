"""`vipb projections verify` (issue 31, point 11): editing views.sqlite (a read model) was
detected by nothing, so a report could be forged; verify recomputes the views from the
events and names the first difference."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pykka

from service.bootstrap import bootstrap
from tests.helpers import Cli, record_outcome


def test_a_forged_position_is_named_and_an_untouched_store_verifies(cli: Cli,
                                                                   tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli("init").code == 0
    assert cli("proxy", "add", "http://127.0.0.1:3128").code == 0
    assert cli("rank", "domain", "add", "example.com").code == 0
    rt = bootstrap(data)
    try:
        record_outcome(rt, 14)
        record_outcome(rt, 9)
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    clean = cli("projections", "verify", "--json")
    assert clean.code == 0, clean.out + clean.err
    assert clean.json()["ok"] is True and clean.json()["difference"] is None
    with closing(sqlite3.connect(data / "views.sqlite")) as views:  # the forger
        views.execute("UPDATE position_history SET position = 1 WHERE position = 9")
        views.commit()
    forged = cli("projections", "verify")
    assert forged.code == 1
    assert forged.out.startswith("differ: position_history: the live views hold a row the "
                                 "events do not make"), forged.out
    assert not [p for p in data.iterdir() if p.name.startswith(".verify-")], "no scratch left"
