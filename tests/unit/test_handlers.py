"""One handler per command: the table of ``service.handlers`` covers the command registry
exactly, each entry is a plain function of its feature's module, and a command handled twice
is refused when the table is built."""

from __future__ import annotations

import inspect

import pytest

from domain.commands import AddProxy
from domain.registry import COMMANDS
from service import handlers
from service.handlers import HANDLERS, PROGRESSIVE
from service.handlers import _join as join


def test_every_command_of_the_registry_has_exactly_one_handler() -> None:
    registered = set(COMMANDS.values())
    assert len(registered) == len(COMMANDS), "one model per channel"
    handled = list(HANDLERS) + list(PROGRESSIVE)
    assert sorted(c.__name__ for c in registered - set(handled)) == []  # none missing
    assert sorted(c.__name__ for c in set(handled) - registered) == []  # none unregistered
    assert len(handled) == len(set(handled))  # none twice


def test_handlers_are_plain_functions_of_command_and_deps() -> None:
    for command, handler in [*HANDLERS.items(), *PROGRESSIVE.items()]:
        assert inspect.isfunction(handler), command
        assert handler.__module__.startswith("service.handlers."), command
        params = list(inspect.signature(handler).parameters)
        expected = 3 if command in PROGRESSIVE else 2
        assert len(params) == expected and params[1] == "deps", (command, params)


def test_a_command_handled_by_two_modules_is_refused() -> None:
    def other(_c: AddProxy, _deps: handlers.Deps) -> None:
        return None

    with pytest.raises(RuntimeError, match="AddProxy has two handlers"):
        join(HANDLERS, {AddProxy: other})
