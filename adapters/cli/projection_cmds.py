"""``vipb projections ...``: status of the read models and full rebuilds."""

from __future__ import annotations

import typer

from adapters.cli.context import state
from adapters.cli.output import emit, out, print_json, to_data, with_progress

app = typer.Typer(help="Read models: status and rebuild.", no_args_is_help=True)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Each view's position against the event store head, and skipped (unreadable) events.

    Example: vipb projections status --json
    """
    host = state(ctx).host()
    if host is not None:
        emit(host.call("projections:status"), as_json, title="projections")
        return
    rows = [s.as_dict() for s in state(ctx).runtime().runner.status()]
    emit(rows, as_json, title="projections")


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    views: list[str] = typer.Argument(None, help="Views to rebuild (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Drop the read tables and replay every event into them.

    Example: vipb projections rebuild proxies
    """
    host = state(ctx).host()
    if host is not None:  # the host owns the views: it rebuilds them
        result = host.call("projections:rebuild", {"views": views or None})
        if as_json:
            print_json(result)
        else:
            out.print(f"rebuilt {', '.join(v['view'] for v in result['views'])}: "
                      f"replayed {result['replayed']} events", markup=False)
        return
    runner = state(ctx).runtime().runner
    count = with_progress("rebuilding", lambda report: runner.rebuild(views or None, report),
                          as_json)
    result = {"replayed": count, "views": to_data([s.__dict__ for s in runner.status()])}
    if as_json:
        print_json(result)
    else:
        out.print(f"rebuilt {', '.join(views or [v.name for v in runner.views])}: "
                  f"replayed {count} events", markup=False)
