"""Per-invocation state: the data dir and a lazily opened runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from actors.runtime import Runtime
from adapters.config import Settings


@dataclass
class CliState:
    """What the root callback learned; the runtime opens on first use and closes at exit."""

    data_dir: Path
    settings: Settings
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self) -> Runtime:
        """The in-process runtime for this data dir."""
        if self._runtime is None:
            self._runtime = Runtime.open(self.data_dir, settings=self.settings)
        return self._runtime

    def close(self) -> None:
        """Close the runtime if it was opened."""
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None


def state(ctx: typer.Context) -> CliState:
    """The ``CliState`` of the root command."""
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj
