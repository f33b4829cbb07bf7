"""Every command's handler, in one table: ``HANDLERS[type(command)](command, deps)``, and for
long commands ``PROGRESSIVE[type(command)](command, deps, progress)``.

One module per feature holds that feature's handlers as plain functions; this module joins
their tables and refuses, at import, a command handled twice. The dispatcher is the only
caller; ``tests/unit/test_handlers.py`` checks that every command of the registry has
exactly one handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.commands import Command
from domain.progress import Progress
from service.handlers import alerts, creators, host, proxies, rank, tabs
from service.handlers.deps import Deps, ProcessOps

Handler = Callable[[Any, Deps], Any]
ProgressHandler = Callable[[Any, Deps, Progress | None], Any]

__all__ = ["HANDLERS", "PROGRESSIVE", "Deps", "Handler", "ProcessOps", "ProgressHandler"]


def _join(*tables: Mapping[Any, Any]) -> dict[type[Command], Any]:
    joined: dict[type[Command], Any] = {}
    for table in tables:
        for command, handler in table.items():
            if command in joined:
                raise RuntimeError(f"{command.__name__} has two handlers: "
                                   f"{joined[command].__module__} and {handler.__module__}")
            joined[command] = handler
    return joined


HANDLERS: dict[type[Command], Handler] = _join(
    proxies.HANDLERS, tabs.HANDLERS, rank.HANDLERS, creators.HANDLERS, alerts.HANDLERS,
    host.HANDLERS)
PROGRESSIVE: dict[type[Command], ProgressHandler] = _join(
    proxies.PROGRESSIVE, rank.PROGRESSIVE, host.PROGRESSIVE)
_both = HANDLERS.keys() & PROGRESSIVE.keys()
if _both:
    raise RuntimeError(f"handled twice: {sorted(c.__name__ for c in _both)}")
