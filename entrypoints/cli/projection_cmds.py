"""``vipb projections ...``: status of the read models and full rebuilds."""

from __future__ import annotations

import typer

from domain.parsing import parse_command
from domain.projection_commands import ProjectionStatus, RebuildProjections, Rebuilt
from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit, out, print_json, to_data, with_progress

app = typer.Typer(help="Read models: status and rebuild.", no_args_is_help=True)


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
