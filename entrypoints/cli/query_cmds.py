"""``vipb query TABLE``: read any read-model table with simple filters."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import typer

from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit
from projections import queries


@tabular
def query(
    ctx: typer.Context,
    table: str = typer.Argument(..., help="One of: " + ", ".join(queries.READ_TABLES)),
    where: list[str] = typer.Option(
        [], "--where", "-w", help="COLUMN OP VALUE, OP one of = != < <= > >= ~ (LIKE); repeat."
    ),
    limit: int = typer.Option(100, min=1, max=1_000_000, help="At most this many rows."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    db: Path | None = typer.Option(None, "--db", help="Another read-model file, e.g. one "
                                                      "written by `vipb events replay`."),
) -> None:
    """Query a read-model table (plain SQLite; any SQLite tool can read it too).

    Example: vipb query proxies --where protocol=socks5 --where "port>=1080" --json
    """
    if db is not None:
        with closing(queries.connect_view_file(db)) as conn:
            rows = queries.query(conn, table, where, limit)
        emit(rows, as_json, title=f"{table} ({db.name})")
        return
    reads = state(ctx).reads()
    reads.settle()
    with reads.reader() as conn:
        rows = queries.query(conn, table, where, limit)
    emit(rows, as_json, title=table)
