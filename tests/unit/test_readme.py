"""Every `vipb` command the README shows parses against the CLI as it is: the command exists,
its options exist, and it has the arguments it needs (nothing is run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

# typer vendors click (0.29): its usage errors and parser state live there
from typer._click.exceptions import UsageError

from entrypoints.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
ROOT = typer.main.get_command(app)


def _commands() -> list[str]:
    """The `vipb ...` lines of the README's code blocks, without comments and placeholders."""
    found, inside = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        match = re.match(r"^\s*(?:[A-Z_]+=\S+\s+)*(vipb\s.*)$", line) if inside else None
        if match:
            text = re.sub(r"\s+#\s.*$", "", match.group(1)).rstrip(" &")
            found.append(text.replace("<id>", "3f2a").replace("<hex>", "ab" * 32))
    return found


def parse(words: list[str]) -> Any:
    """Parse ``words`` (after ``vipb``) down to the leaf command; raises on a usage error."""
    command, ctx = ROOT, ROOT.make_context("vipb", list(words))
    while getattr(command, "commands", None):
        rest = [*ctx._protected_args, *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        assert command is not None, f"no command {name}"
        ctx = command.make_context(name, rest, parent=ctx)
    return command


COMMANDS = _commands()


def test_the_readme_shows_many_commands() -> None:
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("line", COMMANDS)
def test_every_readme_command_parses(line: str) -> None:
    words = shlex.split(line)
    assert words[0] == "vipb"
    parse(words[1:])


@pytest.mark.parametrize("words", [["proxy", "frobnicate"], ["tab", "navigate"],
                                   ["proxy", "list", "--no-such-option"],
                                   ["rank", "run", "--depth", "many"]])
def test_a_wrong_command_does_not_parse(words: list[str]) -> None:
    with pytest.raises(UsageError):
        parse(words)
