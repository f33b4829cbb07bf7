"""``vipb rank report`` and ``vipb rank chart``: positions over a period as a table, CSV,
JSON or one self-contained HTML file, and one keyword's chart as SVG or PNG."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from adapters.cli.context import state
from adapters.cli.formats import csv_text
from adapters.cli.output import emit, exit_not_done
from adapters.reports import chart_png, chart_svg, html_report, search_label, series_of
from adapters.store import parse_since
from domain.creator_commands import ListCreators
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.rank_commands import GetReport

SUMMARY = ["keyword", "engine", "country", "device", "domain", "latest", "previous", "best",
           "change", "first_seen", "last_searched", "features"]
FORMATS = ("table", "csv", "json", "html")


def _rows(ctx: typer.Context, domain: str | None, keyword: str | None, engine: str | None,
          device: str | None, since: str) -> tuple[list[dict[str, Any]], datetime]:
    start = parse_since(since)
    command = parse_command(GetReport, {"domain": domain, "keyword": keyword,
                                        "engine": engine, "device": device,
                                        "since": start.isoformat()})
    rows: list[dict[str, Any]] = state(ctx).commands().execute(command)
    return rows, start


def _write(output: Path | None, data: bytes) -> None:
    if output is None or str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise ValidationError(f"cannot write {output}: {exc.strerror or exc}",
                              field="output") from None


DOMAIN = typer.Option(None, "--domain", help="Only this target domain.")
KEYWORD = typer.Option(None, "--keyword", "-k", help="Only this keyword.")
ENGINE = typer.Option(None, "--engine", help="Only this engine.")
DEVICE = typer.Option(None, "--device", help="Only desktop or mobile searches.")
SINCE = typer.Option("30d", "--since", help="Period start: 30d, 12h, or an ISO time.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file (default: stdout).")


def report(
    ctx: typer.Context,
    domain: str | None = DOMAIN,
    keyword: str | None = KEYWORD,
    engine: str | None = ENGINE,
    device: str | None = DEVICE,
    since: str = SINCE,
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json or html "
                                                              "(one self-contained file)."),
    output: Path | None = OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Per keyword x domain over a period: latest, previous and best position, change,
    first ranked, SERP features; html adds a chart per keyword (position 1 at the top).

    Example: vipb rank report --since 30d --format html -o report.html
    """
    fmt = "json" if as_json else fmt.lower()
    if fmt not in FORMATS:
        raise ValidationError(f"must be one of {', '.join(FORMATS)}", field="format")
    rows, start = _rows(ctx, domain, keyword, engine, device, since)
    period = f"since {start.strftime('%Y-%m-%d %H:%M UTC')}"
    if fmt == "table":
        if output is not None:
            raise ValidationError("a table is for the terminal: use --format csv, json or "
                                  "html with -o", field="format")
        emit([{c: row[c] for c in SUMMARY} for row in rows], False,
             columns=["keyword", "engine", "domain", "latest", "change", "best"],
             title="searches in this period")
    elif fmt == "html":
        creators = state(ctx).commands().execute(parse_command(ListCreators, {}))
        _write(output, html_report(rows, datetime.now(UTC), period, creators).encode())
    elif fmt == "json":
        _write(output, (json.dumps({"since": start.isoformat(), "rows": rows}, indent=2)
                        + "\n").encode())
    else:
        _write(output, csv_text(rows, SUMMARY).encode())


def chart(
    ctx: typer.Context,
    keyword: str = typer.Option(..., "--keyword", "-k", help="The keyword to chart."),
    output: Path = typer.Option(..., "--output", "-o", help="chart.svg or chart.png."),
    domain: str | None = DOMAIN,
    engine: str | None = ENGINE,
    device: str | None = DEVICE,
    since: str = SINCE,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Chart one keyword's positions over time, one line per target domain (one engine,
    country and device: the first searched, unless --engine/--device pick one).

    Example: vipb rank chart --keyword "espresso grinder" -o chart.svg
    """
    suffix = output.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValidationError("must end in .svg or .png", field="output")
    rows, _ = _rows(ctx, domain, keyword, engine, device, since)
    if not rows:
        raise ValidationError(f"no searches of {keyword!r} in this period (see `vipb rank "
                              "history`)", field="keyword")
    first = rows[0]
    same = [r for r in rows if (r["engine"], r["country"], r["device"])
            == (first["engine"], first["country"], first["device"])]
    title = search_label(first["keyword"], first["engine"], first["country"], first["device"])
    series = series_of(same)
    _write(output, chart_png(title, series) if suffix == ".png"
           else chart_svg(title, series).encode())
    points = sum(1 for r in same for p in r["series"] if p["position"] is not None)
    emit({"output": str(output), "title": title, "domains": [r["domain"] for r in same],
          "points": points}, as_json,
         said=f"wrote {output}: {title}, {len(same)} domain(s), {points} ranked point(s)")
    exit_not_done(True)
