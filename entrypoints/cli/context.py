"""Per-invocation state: the data dir, and either a running host or an in-process runtime.

When a host runs on the data dir (its control socket answers), commands go to it and reads
come from the read-model file it keeps current; otherwise the CLI opens the runtime in
process. The same dispatcher serves both.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import typer

from adapters import store as event_store  # its parts load when a command uses them
from adapters.backup import create_backup
from adapters.config import DataPaths, Settings
from adapters.config_file import LoadedSettings, load_settings
from adapters.control import ControlClient, HostUnavailable
from domain.commands import Command
from domain.errors import ValidationError
from domain.host_commands import CreateBackup
from domain.parsing import parse_command
from entrypoints.cli.remote import RemoteCommands, RemoteReads
from projections.sql import Connection

if TYPE_CHECKING:  # the runtime is imported on first use: a CLI talking to a host
    # never opens one (and so does not load actors, Playwright or curl)
    from adapters.store import EventStoreApp, StoreBackend
    from service.runtime import EventReader, Runtime


class Commands(Protocol):
    """Where commands are executed: the running host, or this process."""

    @property
    def in_process(self) -> bool:
        """Work started here ends with this command (no host runs it)."""

    def execute(self, command: Command, client: str = "local", progress: Any = None) -> Any:
        """Run a validated command and return its result."""

    def follow(self, after: int | None, until: Callable[[dict[str, Any]], bool],
               timeout: float, events: Collection[str] | None = None) -> bool:
        """Pass each event committed after notification ``after`` (None: from now; only
        events of the names ``events`` when given) to ``until`` until it answers true
        (True), ``timeout`` (may be ``math.inf``) passes or the host goes away (False)."""

    def keep_running(self, what: str, field: str, instead: str = "") -> None:
        """Check that work started now goes on after this command exits (a host runs it);
        else a ``ValidationError`` on ``field``: ``what`` needs a host, or ``instead``."""


class Reads(Protocol):
    """Where the read models are read."""

    def settle(self) -> None:
        """Bring the views up to the store head."""

    def reader(self) -> AbstractContextManager[Connection]:
        """A read-only connection to the views."""


class LocalCommands:
    """Commands run in this process: a backup copies the files as they are (no runtime, so
    no master key needed: a data dir whose key is kept elsewhere is still backed up); every
    other command goes to the runtime's dispatcher, opened on first use."""

    in_process = True

    def __init__(self, cli: CliState) -> None:
        self._cli = cli

    def execute(self, command: Command, client: str = "local", progress: Any = None) -> Any:
        """Run ``command`` here."""
        if isinstance(command, CreateBackup):
            return create_backup(self._cli.data_dir, Path(command.dest),
                                 include_key=command.include_key)
        return self._cli.runtime().dispatcher.execute(command, client, progress)

    def follow(self, after: int | None, until: Callable[[dict[str, Any]], bool],
               timeout: float, events: Collection[str] | None = None) -> bool:
        """Follow the commits of this process, and of other processes each second."""
        return self._cli.runtime().follow(after, until, timeout, poll=1.0, events=events)

    def keep_running(self, what: str, field: str, instead: str = "") -> None:
        """Refuse: the in-process runtime closes when this command ends."""
        raise ValidationError(f"{what} needs a running host (what this process starts stops "
                              f"when the command ends): start `vipb host run`{instead}",
                              field=field)


@dataclass
class CliState:
    """What the root callback learned; settings load on first use (so ``vipb doctor`` can
    report a broken config file as a check), the runtime or host connection likewise."""

    data_dir_flag: Path | None = None
    _loaded: LoadedSettings | None = field(default=None, repr=False)
    _runtime: Runtime | None = field(default=None, repr=False)
    _client: ControlClient | None = field(default=None, repr=False)
    _probed: bool = field(default=False, repr=False)
    _events: EventReader | None = field(default=None, repr=False)
    _store: StoreBackend | None = field(default=None, repr=False)

    def loaded(self) -> LoadedSettings:
        """The effective settings and where each came from (``ValidationError`` if any
        source is bad)."""
        if self._loaded is None:
            loaded = load_settings({"data_dir": self.data_dir_flag})
            root = loaded.settings.data_dir.expanduser().resolve()
            self._loaded = dataclasses.replace(
                loaded, settings=loaded.settings.model_copy(update={"data_dir": root}))
        return self._loaded

    @property
    def settings(self) -> Settings:
        """The effective settings."""
        return self.loaded().settings

    @property
    def data_dir(self) -> Path:
        """The data dir in use (absolute)."""
        return self.settings.data_dir

    def store(self) -> StoreBackend:
        """Where this data dir's events and read models live (``VIPB_STORE``)."""
        if self._store is None:
            self._store = event_store.open_backend(self.data_dir, self.settings.store)
        return self._store

    def _host(self) -> RemoteCommands | None:
        """The running host's commands, or None when no host runs on this data dir."""
        if not self._probed:
            self._probed = True
            socket_path = DataPaths(self.data_dir).socket
            if socket_path.exists():
                try:
                    self._client = ControlClient(socket_path)
                except HostUnavailable:
                    self._client = None
        if self._client is None:
            return None
        return RemoteCommands(self._client, DataPaths(self.data_dir).socket)

    def runtime(self) -> Runtime:
        """The in-process runtime for this data dir."""
        if self._runtime is None:
            # a CLI process claims searches under a name of its own: a host of the same
            # machine's name must never take its claims for its own
            from service.bootstrap import bootstrap

            self._runtime = bootstrap(
                self.data_dir, settings=self.settings,
                claim_as=f"{self.settings.host_id[:50]}.cli-{os.getpid()}")
        return self._runtime

    def commands(self) -> Commands:
        """The host if one runs, else this process."""
        remote = self._host()
        return remote if remote is not None else LocalCommands(self)

    def reads(self) -> Reads:
        """Read models kept by the host if one runs, else by the in-process runtime."""
        remote = self._host()
        if remote is not None:
            return RemoteReads(remote, self.store().connect_read_only)
        return self.runtime()

    def event_app(self) -> EventStoreApp:
        """The event store for audit reads: read side only (no actors, no writer), whether
        or not a host owns the write side."""
        if self._events is None:
            from service.runtime import EventReader

            self._events = EventReader(self.data_dir, self.settings)
        return self._events.app

    def close(self) -> None:
        """Close the runtime or the host connection if opened."""
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        if self._client is not None:
            self._client.close()
            self._client = None


def state(ctx: typer.Context) -> CliState:
    """The ``CliState`` of the root command."""
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj


def run_command(ctx: typer.Context, model: type[Command], payload: dict[str, Any]) -> Any:
    """Parse ``payload`` into ``model`` (a clear error names the field) and run it, here or
    on the running host."""
    return state(ctx).commands().execute(parse_command(model, payload))
