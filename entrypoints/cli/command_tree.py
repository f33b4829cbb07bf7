"""The commands of a typer app as a tree to walk: for giving every command the same
treatment where it is assembled (completion, help layout) instead of in each definition."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any

import typer
from typer.models import ArgumentInfo, CommandInfo, OptionInfo, TyperInfo


def walk(app: typer.Typer, group: str = "") -> Iterator[tuple[str, str, CommandInfo]]:
    """(group path such as ``rank keyword``, command name, its info) for every command."""
    for info in app.registered_commands:
        assert info.callback is not None
        name = info.name or info.callback.__name__.replace("_", "-")
        yield group, name, info
    for sub in app.registered_groups:
        assert sub.typer_instance is not None
        path = f"{group} {sub.name}".strip()
        yield from walk(sub.typer_instance, path)


def parameters(info: CommandInfo | TyperInfo
               ) -> Iterator[tuple[str, Any, OptionInfo | ArgumentInfo]]:
    """(name, annotation, declared option or argument) of each parameter of a command (or
    of a group's callback)."""
    callback = info.callback
    if callback is None:
        return
    hints = typing.get_type_hints(callback)
    for name, param in inspect.signature(callback).parameters.items():
        if isinstance(param.default, OptionInfo | ArgumentInfo):
            yield name, hints.get(name), param.default
