"""``vipb backup create|restore``: copies of the data dir, also while the host runs."""

from __future__ import annotations

from pathlib import Path

import typer

from adapters.backup import restore_backup
from adapters.config import DataPaths
from domain.errors import ValidationError
from domain.host_commands import CreateBackup
from domain.parsing import parse_command
from entrypoints.cli.context import state
from entrypoints.cli.output import emit

app = typer.Typer(help="Back up and restore the data dir.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


@app.command("create")
def create(
    ctx: typer.Context,
    dest: Path = typer.Argument(..., help="A new directory for the backup."),
    include_key: bool = typer.Option(False, "--include-key",
                                     help="Also copy master.key (keep backups of the key "
                                          "apart from backups of the data)."),
    as_json: bool = JSON,
) -> None:
    """Copy the databases consistently (SQLite online backup; the running host pauses its
    commits for the event store's copy). Example: vipb backup create /backups/vipb-monday
    """
    command = parse_command(CreateBackup, {"dest": str(dest.expanduser().resolve()),
                                           "include_key": include_key})
    made = state(ctx).commands().execute(command)
    key = ("the master key included" if made["includes_master_key"]
           else "without the master key (back it up apart)")
    emit(made, as_json, said=f"backed up {made['source']} to {made['backup']}: "
                             f"{len(made['files'])} files up to event {made['store_head']}, "
                             f"{key}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    src: Path = typer.Argument(..., help="A directory written by `vipb backup create`."),
    as_json: bool = JSON,
) -> None:
    """Restore a backup into a new or empty data dir (the manifest and every checksum are
    verified before anything is written; existing data is never replaced: move it aside).
    The views are rebuilt from the restored events on next use.
    Example: vipb --data-dir ./restored backup restore /backups/vipb-monday
    """
    cli = state(ctx)
    root = cli.data_dir
    if cli.settings.store:
        raise ValidationError("VIPB_STORE names a PostgreSQL store: restore it with "
                              "pg_restore (README: several hosts); `backup restore` writes "
                              "SQLite data dirs", field="store")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    from service.host import HostLock  # see context.py: the runtime on first use

    lock = HostLock(DataPaths(root).host_lock)
    lock.acquire()  # refuses while a host runs here
    try:
        emit(restore_backup(src.expanduser().resolve(), root), as_json)
    finally:
        lock.release()
