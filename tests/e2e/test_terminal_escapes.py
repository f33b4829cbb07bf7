"""Text from the web never drives the terminal (issue 31, point 5): a result title and a
keyword holding OSC (window title, OSC 8 link), CSI (clear screen), a one-byte C1 CSI and a
bidi override are shown escaped by every human-readable output, and exact in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pykka
import pytest

from service.bootstrap import bootstrap
from tests.helpers import Cli, record_outcome

HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
           "\x9b31m\u202eexe.txt")
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("init").code == 0
    rt = bootstrap(tmp_path / "data")
    try:
        record_outcome(rt, 3, keyword=f"coffee {HOSTILE}", title=f"Best {HOSTILE}")
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    return cli


@pytest.mark.parametrize("args", [
    ("rank", "history"),
    ("rank", "tasks"),
    ("query", "position_history"),
    ("events", "show", "2"),  # the PositionRecorded event, title and all
])
def test_human_readable_output_escapes_control_characters(hostile: Cli,
                                                          args: tuple[str, ...]) -> None:
    shown = hostile(*args, COLUMNS="250")  # wide enough that no cell is cut
    assert shown.code == 0, shown.err
    assert not any(raw in shown.out for raw in RAW), repr(shown.out)
    assert "\\x1b" in shown.out, "shown escaped, not dropped"


def test_json_output_keeps_the_text_exact(hostile: Cli) -> None:
    shown = hostile("rank", "history", "--json")
    assert shown.code == 0, shown.err
    assert not any(raw in shown.out for raw in RAW), "JSON escapes them itself"
    titles = [row.get("title") for row in json.loads(shown.out)]
    assert f"Best {HOSTILE}" in titles
