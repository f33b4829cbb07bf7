"""``vipb config ...``: the effective settings and where each came from."""

from __future__ import annotations

import typer

from entrypoints.cli.context import state
from entrypoints.cli.formats import rendering, tabular
from entrypoints.cli.output import emit, out

app = typer.Typer(help="Settings: vipb.toml, VIPB_* variables, the command line.",
                  no_args_is_help=True)


@app.command("show")
@tabular
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the settings as JSON."),
) -> None:
    """Print every effective setting with its source (default, the config file, an
    environment variable or --data-dir); later sources win in that order.

    Example: vipb config show --json
    """
    loaded = state(ctx).loaded()
    if as_json:
        emit({"file": str(loaded.file), "file_found": loaded.file_found,
              "settings": loaded.rows()}, True)
        return
    if not rendering().for_people:
        emit(loaded.rows(), False)
        return
    found = "" if loaded.file_found else " (not found: defaults and variables only)"
    out.print(f"config file: {loaded.file}{found}", markup=False, highlight=False)
    emit(loaded.rows(), False, columns=["name", "value", "source"])
