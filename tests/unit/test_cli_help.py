"""Help as people read it at 80 columns (issue 32, point 6: text wrapped for the source
broke mid-phrase, and flags showed ``<bool>`` as if they took a value), and value
completion wired to every parameter that names something the views hold (point 5)."""

from __future__ import annotations

import itertools
import re

import pytest
import typer
from typer.testing import CliRunner

from entrypoints.cli.command_tree import parameters, walk
from entrypoints.cli.help_layout import reflow
from entrypoints.cli.main import app
from tests.helpers import cli_leaves

WIDTH = 80
LEAVES = cli_leaves(app)


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)},
                                terminal_width=WIDTH)
    assert result.exit_code == 0, result.output
    return result.output


def _early_breaks(text: str) -> list[str]:
    """Lines of the description (above the option panels) that end although the next
    line's first word would have fitted after them: a break the source's wrapping made."""
    prose = text.split("╭", 1)[0].splitlines()
    found = []
    for line, after in itertools.pairwise(prose):
        words = after.split()
        if line.strip() and words and not line.strip().startswith("Usage:") \
                and len(line.rstrip()) + 1 + len(words[0]) <= WIDTH - 2:
            found.append(f"{line.strip()!r} / {words[0]!r}")
    return found


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_help_fits_80_columns_wraps_whole_paragraphs_and_flags_take_no_value(
        path: tuple[str, ...]) -> None:
    text = _help(path)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert _early_breaks(text) == []
    if path != ():  # the root's --install/--show-completion are typer's own
        assert "<bool>" not in text


def test_the_root_help_too() -> None:
    text = _help(())
    assert _early_breaks(text) == []
    assert not re.search(r"--verbose.*<bool>", text)


def test_reflow_joins_lines_of_a_paragraph_and_keeps_paragraphs_apart() -> None:
    assert reflow("One line\n    and the next.\n\n    Example: vipb x") == \
        "One line and the next.\n\nExample: vipb x"
    assert reflow("Head.\n\n\b\nkeep\nlines") == "Head.\n\n\b\nkeep\nlines"


NAMED_THINGS = re.compile(r"(.*_ids?|proxy|profile|creator|engine|tab|rule|table)$")
NEW_VALUES = {("privacy", "create"), ("schedule", "add"), ("creator", "add"),
              ("session", "save"), ("alert", "add")}
OTHER_IDS = {"notification_id", "host_id"}  # a position in the log; this host's new name
NAME_GROUPS = {"privacy", "schedule", "creator", "session", "alert"}


def test_every_parameter_naming_something_on_record_completes() -> None:
    missing = []
    for group, name, info in walk(app):
        for param, _annotation, declared in parameters(info):
            on_record = bool(NAMED_THINGS.match(param)) and param not in OTHER_IDS
            named = param == "name" and group in NAME_GROUPS and (group, name) not in NEW_VALUES
            names_one = on_record or named
            if names_one and declared.autocompletion is None:
                missing.append(f"{group} {name} {param}")
    assert missing == []


def test_new_names_are_not_completed() -> None:
    given = {(group, name): declared.autocompletion for group, name, info in walk(app)
             for param, _a, declared in parameters(info) if param == "name"}
    assert all(given[key] is None for key in NEW_VALUES), "a new name completes"
    assert isinstance(app, typer.Typer)
