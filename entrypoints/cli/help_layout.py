"""Help that reads well at any width: typer keeps a docstring's line breaks after its first
paragraph (rich markup mode), so text wrapped for the source broke mid-phrase at 80 columns;
and it shows ``<bool>`` after a flag as if it took a value. ``tidy_help`` reflows every
command's help into paragraphs the terminal wraps, and gives flags an empty type column."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer
from typer.models import CommandInfo, OptionInfo, TyperInfo

from entrypoints.cli.command_tree import parameters, walk


def reflow(text: str) -> str:
    """``text`` with each paragraph on one line (paragraphs stay apart; a paragraph that
    starts with ``\\b`` keeps its lines, as click's convention says)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split())
                       for p in paragraphs)


def tidy_help(app: typer.Typer) -> None:
    """Reflow the help of ``app``, its groups, commands and parameters; flags show no type."""
    _tidy_groups(app)
    quiet_help_flag()
    for _group, _name, info in walk(app):
        doc = info.help if isinstance(info.help, str) else inspect.getdoc(info.callback)
        if doc:
            info.help = reflow(doc)
        _tidy_parameters(info)
    if app.registered_callback is not None:  # the global options
        _tidy_parameters(app.registered_callback)


def _tidy_parameters(info: CommandInfo | TyperInfo) -> None:
    for _param, annotation, declared in parameters(info):
        if isinstance(declared.help, str):
            declared.help = reflow(declared.help)
        if _is_flag(annotation) and isinstance(declared, OptionInfo) \
                and declared.metavar is None:
            declared.metavar = ""  # a flag takes no value: no "<bool>" after it


def quiet_help_flag() -> None:
    """``--help`` without ``<bool>``: typer builds the help option itself on each command
    (``typer._click.decorators.help_option``, looked up when a command first needs it), so
    the option it makes is given an empty type column as it is made. Typer versions without
    that function are left as they are (the help test shows it)."""
    try:
        from typer._click import decorators
    except ImportError:  # pragma: no cover - typer on the public click package
        return
    made = getattr(decorators, "help_option", None)
    if made is None or getattr(made, "vipb_quiet", False):
        return

    def help_option(param_decls: list[str]) -> Callable[[Any], Any]:
        add = made(param_decls)

        def decorate(command: Any) -> Any:
            result = add(command)
            command.params[-1].metavar = ""  # the option just added: a flag
            return result
        return decorate

    help_option.vipb_quiet = True  # type: ignore[attr-defined]
    decorators.help_option = help_option


def _is_flag(annotation: Any) -> bool:
    """``bool`` or ``bool | None`` (a ``--x/--no-x`` pair that may be left unset)."""
    return annotation is bool or set(typing.get_args(annotation)) == {bool, type(None)}


def _tidy_groups(app: typer.Typer) -> None:
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    for sub in app.registered_groups:
        if isinstance(sub.help, str):
            sub.help = reflow(sub.help)
        if sub.typer_instance is not None:
            _tidy_groups(sub.typer_instance)
