"""How a ``vipb`` process starts and ends, as far as Python's cyclic garbage collector goes.

Loading the CLI builds some 60,000 objects that live as long as the process: pydantic
models of every command, typer's command tree, rich's tables. With the collector on, each
700 new objects set off a collection, and the older generations were walked over and over
while they grew: about a quarter of a second of every command's ~1 s start. At exit the
interpreter collects again, through everything. So the CLI loads with the collector off,
and what loading built is frozen (moved where collections never look); the collector is on
for the command itself, and once the command is done the heap is frozen again, so that
ending the process does not walk it. Measured per command (``rank engines``, ``proxy
list``, ``--help``): 0.1-0.45 s less, a fifth to a quarter of its time. The cost: the few
hundred cyclic objects that loading leaves as garbage stay (a few KiB, once).

A host started this way (``vipb host run``) keeps its start-up heap frozen for its whole
life: its full collections walk what it made since, not the modules it loaded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable


def load() -> Callable[[], None]:
    """Import the CLI with the collector off and freeze what the import built; the CLI's
    ``run``."""
    gc.disable()
    try:
        from entrypoints.cli.main import run
    finally:
        gc.freeze()
        gc.enable()
    return run


def main() -> None:
    """The ``vipb`` console script (and ``python -m entrypoints.cli``): ``run`` the
    command line, then freeze the heap so that the interpreter's exit does not walk it."""
    run = load()
    try:
        run()
    finally:
        gc.freeze()
