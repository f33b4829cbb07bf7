"""The CLI's shape, read from the typer app itself: every command says what it does, shows
an example of itself, documents every option, and prints JSON for scripts."""

from __future__ import annotations

import re

import pytest

from entrypoints.cli.main import app
from tests.helpers import cli_leaves

# commands that print nothing a script would parse
NO_OUTPUT = {("host", "run")}


LEAVES = cli_leaves(app)


def test_the_walk_finds_every_group() -> None:
    groups = {path[0] for path in LEAVES if len(path) > 1}
    assert {"proxy", "rotation", "tab", "privacy", "rank", "schedule", "audit", "backup",
            "projections", "events", "host", "session"} <= groups


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_every_command_has_help_an_example_of_itself_and_json(path: tuple[str, ...]) -> None:
    command = LEAVES[path]
    text = command.help or ""
    assert text.strip().splitlines()[0], "no one-line summary"
    example = re.search(r"Example: (vipb [^\n]*)", text)
    assert example, "no example"
    words = example.group(1).split()
    at = 0
    for word in path:  # the example runs this very command (global options may come first)
        assert word in words[at:], f"the example does not run `vipb {' '.join(path)}`"
        at = words.index(word, at) + 1
    for param in command.params:  # arguments and options alike
        assert (getattr(param, "help", None) or "").strip(), f"{param.name} has no help"
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    assert ("--json" in options) is (path not in NO_OUTPUT)


READ_VERBS = {"list", "show", "log", "status", "tasks", "history", "engines", "stats", "query",
              "doctor", "validate"}


@pytest.mark.parametrize("path", sorted(p for p in LEAVES if p[-1] in READ_VERBS),
                         ids=" ".join)
def test_every_read_prints_csv_json_lines_and_picked_columns(path: tuple[str, ...]) -> None:
    options = {o for p in LEAVES[path].params for o in getattr(p, "opts", [])}
    assert {"--json", "--csv", "--nl", "-c", "--column"} <= options
