"""``vipb projections ...``: status of the read models, full rebuilds, verification."""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import typer

from adapters import store as event_store  # its parts load when a command uses them
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.projection_commands import ProjectionStatus, RebuildProjections, Rebuilt
from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit, out, print_json, to_data, with_progress
from projections.replay import replay
from projections.verify import first_difference

app = typer.Typer(help="Read models: status, rebuild and verify.", no_args_is_help=True)


@app.command("status")
@tabular
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Each view's position against the event store head, and skipped (unreadable) events.

    Example: vipb projections status --json
    """
    rows = state(ctx).commands().execute(ProjectionStatus())
    emit(to_data(rows), as_json, title="projections")


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    views: list[str] = typer.Argument(None, help="Views to rebuild (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Drop the read tables and replay every event into them (the host's, if one runs).

    Example: vipb projections rebuild proxies
    """
    command = parse_command(RebuildProjections, {"views": views or None})
    commands = state(ctx).commands()
    result: Rebuilt = with_progress(
        "rebuilding", lambda report: commands.execute(command, progress=report), as_json)
    if as_json:
        print_json(to_data(result))
    else:
        out.print(f"rebuilt {', '.join(v.view for v in result.views)}: "
                  f"replayed {result.replayed} events", markup=False)


@app.command("verify")
def verify(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Recompute every view from the events into a scratch file and compare it with the live
    views, table by table: the first difference is named (a views.sqlite edited by hand, a
    forged report). Exit 1 on a difference. Example: vipb projections verify
    """
    cli = state(ctx)
    if not cli.store().on_files:
        raise ValidationError("verify compares the views file of an SQLite store; on "
                              "PostgreSQL, rebuild instead (vipb projections rebuild)",
                              field="store")
    reads = cli.reads()
    reads.settle()
    views = cli.data_dir / "views.sqlite"
    app_ = cli.event_app()
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=cli.data_dir) as scratch, \
            closing(sqlite3.connect(f"file:{views}?mode=ro", uri=True)) as live:
        live.execute("BEGIN")  # one snapshot of the live views for the whole comparison
        position = min((int(r[0]) for r in live.execute(
            "SELECT position FROM projection_tracking")), default=0)
        made = Path(scratch) / "recomputed.sqlite"
        shredded = event_store.ShreddedEventError
        replayed = with_progress("recomputing", lambda p: replay(
            app_.event_log, app_.event_log.decode, shredded, position, made, p), as_json)
        with closing(sqlite3.connect(f"file:{made}?mode=ro", uri=True)) as recomputed:
            found = first_difference(live, recomputed)
    result = {"ok": found is None, "position": position, "replayed": replayed,
              "difference": found.describe() if found else None}
    if as_json:
        print_json(result)
    elif found is None:
        out.print(f"ok: the views match the {replayed} events up to #{position}", markup=False)
    else:
        out.print(f"differ: {found.describe()}", markup=False)
    if found is not None:
        raise typer.Exit(1)
