"""``vipb rank report`` and ``vipb rank chart``: positions over a period as a table, CSV,
JSON or one self-contained HTML file, and one keyword's chart as SVG or PNG."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from adapters.reports import (
    chart_png,
    chart_svg,
    html_report,
    latest_text,
    search_label,
    series_of,
    summary_text,
)
from adapters.store import parse_since
from domain.creator_commands import ListCreators
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.rank_commands import ComparePositions, GetEvidence, GetReport
from domain.ranking import summarize
from entrypoints.cli.context import run_command, state
from entrypoints.cli.files import own_folder, write_output
from entrypoints.cli.formats import csv_text, rendering, tabular
from entrypoints.cli.output import emit, exit_not_done, out
from entrypoints.cli.rank_cmds import where_from
from entrypoints.cli.zones import display_zone, shown

SUMMARY = ["keyword", "engine", "country", "location", "language", "device", "domain",
           "latest", "previous", "best", "change", "start", "change_since_start", "movement",
           "first_seen", "last_searched", "exit_country", "revised", "features", "task_id"]
FORMATS = ("table", "csv", "json", "html")


@dataclass(frozen=True)
class Narrowing:
    """The report's filters, as given on the command line."""

    domain: str | None
    keyword: str | None
    engine: str | None
    country: str | None
    device: str | None
    location: str | None


def _rows(ctx: typer.Context, narrowing: Narrowing,
          since: str) -> tuple[list[dict[str, Any]], datetime]:
    start = parse_since(since)
    command = parse_command(GetReport, {**asdict(narrowing), "since": start.isoformat()})
    rows: list[dict[str, Any]] = state(ctx).commands().execute(command)
    return rows, start


def _write(output: Path | None, data: bytes) -> None:
    if output is None or str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_output(output, data)


def _latest(row: dict[str, Any]) -> str:
    """The latest position as people read it: revised and exit marks included."""
    return latest_text(row["latest"], row["revised"], row["original"]) + where_from(row)


def _write_evidence(ctx: typer.Context, rows: list[dict[str, Any]],
                    output: Path) -> dict[str, str]:
    """Write the first results page of each row's latest search beside the report; links
    relative to it by task id."""
    folder = output.with_name(output.stem + "-evidence")
    links: dict[str, str] = {}
    commands = state(ctx).commands()
    for task_id in dict.fromkeys(r["task_id"] for r in rows if r.get("evidence")):
        found = commands.execute(parse_command(GetEvidence, {"task_id": task_id}))
        if found["html"] is None:
            continue  # no longer kept: the report says so by not linking it
        write_output(own_folder(folder) / f"{task_id}.html", found["html"].encode())
        links[task_id] = f"{folder.name}/{task_id}.html"
    return links


DOMAIN = typer.Option(None, "--domain", help="Only this target domain.")
KEYWORD = typer.Option(None, "--keyword", "-k", help="Only this keyword.")
ENGINE = typer.Option(None, "--engine", help="Only this engine.")
DEVICE = typer.Option(None, "--device", help="Only desktop or mobile searches.")
COUNTRY = typer.Option(None, "--country", help="Only searches for this country (e.g. DE).")
LOCATION = typer.Option(None, "--location", help="Only searches near this place.")
SINCE = typer.Option("30d", "--since", help="Period start: 30d, 12h, or an ISO time.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file (default: stdout).")


def report(
    ctx: typer.Context,
    domain: str | None = DOMAIN,
    keyword: str | None = KEYWORD,
    engine: str | None = ENGINE,
    country: str | None = COUNTRY,
    device: str | None = DEVICE,
    location: str | None = LOCATION,
    since: str = SINCE,
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json or html "
                                                              "(one self-contained file)."),
    output: Path | None = OUTPUT,
    evidence: bool = typer.Option(False, "--evidence",
                                  help="html: also write each latest position's results page "
                                       "(as `vipb rank evidence` does) into a folder beside "
                                       "the report, and link the position to it."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    as_csv: bool = typer.Option(False, "--csv", help="Same as --format csv."),
    raw_csv: bool = typer.Option(False, "--raw-csv", help="csv: cells exactly as stored, "
                                 "also those a spreadsheet would run as a formula."),
) -> None:
    """Per keyword x domain and search (engine, country, place, device) over a period:
    latest, previous and best position, change, first ranked, exit, SERP features; html
    adds a chart per search (position 1 at the top). A revised position (re-read of its
    page) is marked.

    Example: vipb rank report --since 30d --country DE --format html -o report.html --evidence
    """
    if as_json and as_csv:
        raise ValidationError("choose one of --json and --csv", field="format")
    fmt = "json" if as_json else "csv" if as_csv else fmt.lower()
    if fmt not in FORMATS:
        raise ValidationError(f"must be one of {', '.join(FORMATS)}", field="format")
    if evidence and (fmt != "html" or output is None or str(output) == "-"):
        raise ValidationError("links to pages need an html report written to a file "
                              "(--format html -o report.html)", field="evidence")
    rows, start = _rows(ctx, Narrowing(domain, keyword, engine, country, device, location),
                        since)
    period = f"since {shown(start)}"
    if fmt == "table":
        if output is not None:
            raise ValidationError("a table is for the terminal: use --format csv, json or "
                                  "html with -o", field="format")
        if rows:
            out.print(f"{period}: {summary_text(summarize(rows))}", markup=False,
                      highlight=False)
        emit([{**{c: row[c] for c in SUMMARY}, "latest": _latest(row),
               "change": row["movement"]} for row in rows],
             False, columns=["keyword", "engine", "country", "device", "domain", "latest",
                             "change", "best"],
             title="searches in this period")
    elif fmt == "html":
        assert output is None or isinstance(output, Path)
        creators = state(ctx).commands().execute(parse_command(ListCreators, {}))
        links = _write_evidence(ctx, rows, output) if evidence and output else {}
        _write(output, html_report(rows, datetime.now(UTC), period, creators,
                                   links, display_zone()).encode())
    elif fmt == "json":
        _write(output, (json.dumps({"since": start.isoformat(), "summary": summarize(rows),
                                    "rows": rows}, indent=2) + "\n").encode())
    else:
        _write(output, csv_text(rows, SUMMARY, raw=raw_csv).encode())
    if output is not None and str(output) != "-":  # as `rank chart` says what it wrote
        out.print(f"wrote {output}: {len(rows)} row(s), {fmt}", markup=False,
                  highlight=False)


def chart(
    ctx: typer.Context,
    keyword: str = typer.Option(..., "--keyword", "-k", help="The keyword to chart."),
    output: Path = typer.Option(..., "--output", "-o", help="chart.svg or chart.png."),
    domain: str | None = DOMAIN,
    engine: str | None = ENGINE,
    country: str | None = COUNTRY,
    device: str | None = DEVICE,
    location: str | None = LOCATION,
    since: str = SINCE,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Chart one keyword's positions over time, one line per target domain (one engine,
    country, place and device: the first searched, unless the filters pick one).

    Example: vipb rank chart --keyword "espresso grinder" --country DE -o chart.svg
    """
    suffix = output.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValidationError("must end in .svg or .png", field="output")
    rows, _ = _rows(ctx, Narrowing(domain, keyword, engine, country, device, location), since)
    if not rows:
        raise ValidationError(f"no searches of {keyword!r} in this period (see `vipb rank "
                              "history`)", field="keyword")
    first = rows[0]
    search = ("engine", "country", "location", "language", "device")
    same = [r for r in rows if all(r[k] == first[k] for k in search)]
    title = search_label(first["keyword"], first["engine"], first["country"], first["device"],
                         location=first["location"], language=first["language"])
    series = series_of(same)
    _write(output, chart_png(title, series, display_zone()) if suffix == ".png"
           else chart_svg(title, series, display_zone()).encode())
    points = sum(1 for r in same for p in r["series"] if p["position"] is not None)
    emit({"output": str(output), "title": title, "domains": [r["domain"] for r in same],
          "points": points}, as_json,
         said=f"wrote {output}: {title}, {len(same)} domain(s), {points} ranked point(s)")
    exit_not_done(True)


_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def _moment(text: str, field: str) -> datetime:
    """A side's time: ``7d``/``12h`` ago, a date (by the end of that day, on the display
    clock: "the position on 1 December"), or an ISO time (display clock unless it names
    its offset)."""
    zone = display_zone()
    text = text.strip()
    if _DATE.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=zone)
        return day + timedelta(days=1) - timedelta(microseconds=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return parse_since(text)
        except ValidationError as exc:
            raise ValidationError(exc.message.split(": ", 1)[-1], field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@tabular
def compare(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--from", help="Side A as of this time: 7d "
                                     "(ago), a date (its end) or an ISO time."),
    until: str | None = typer.Option(None, "--to", help="Side B as of this time (default: "
                                     "now); also the time two countries or devices are "
                                     "compared at."),
    countries: list[str] = typer.Option([], "--country", help="Two countries side by side "
                                        "(give it twice: --country DE --country AT)."),
    devices: list[str] = typer.Option([], "--device", help="desktop and mobile side by "
                                      "side (give it twice)."),
    domain: str | None = DOMAIN,
    keyword: str | None = KEYWORD,
    engine: str | None = ENGINE,
    location: str | None = LOCATION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Positions side by side: then and now (--from, --to), or two countries or devices;
    with the change from A to B (+3 up, -2 down, =, entered, lost, new).

    Example: vipb rank compare --from 2026-11-01 --to 2026-12-01 --domain example.com
    """
    one_country = countries[0] if len(countries) == 1 else None
    one_device = devices[0] if len(devices) == 1 else None
    payload: dict[str, Any] = {
        "domain": domain, "keyword": keyword, "engine": engine, "location": location,
        "country": one_country, "device": one_device,
        "countries": countries if len(countries) > 1 else None,
        "devices": devices if len(devices) > 1 else None,
        "at_a": _moment(since, "from").isoformat() if since else None,
        "at_b": _moment(until, "to").isoformat() if until else None}
    rows = run_command(ctx, ComparePositions, payload)
    if as_json or not rendering().for_people or rendering().columns:
        emit(rows, as_json, title="positions")
        return
    side_a, side_b = _sides(payload)
    apart = "country" if payload["countries"] else "device" if payload["devices"] else None
    shown_rows = [{"keyword": r["keyword"], "engine": r["engine"],
                   **({} if apart == "country" else {"country": r["country"] or ""}),
                   **({} if apart == "device" else {"device": r["device"]}),
                   "domain": r["domain"], side_a: _side(r, "a"), side_b: _side(r, "b"),
                   "change": "" if r["movement"] == "not searched" else r["movement"]}
                  for r in rows]
    emit(shown_rows, False, title="positions to compare")


def _sides(payload: dict[str, Any]) -> tuple[str, str]:
    """Column names for the two sides: the countries, the devices or the two times."""
    if payload["countries"]:
        return payload["countries"][0], payload["countries"][1]
    if payload["devices"]:
        return payload["devices"][0], payload["devices"][1]

    def when(stamp: str | None) -> str:
        if not stamp:
            return "now"
        moment = datetime.fromisoformat(stamp).astimezone(display_zone())
        ends_a_day = (moment + timedelta(microseconds=1)).time() == datetime.min.time()
        return moment.strftime("%Y-%m-%d") if ends_a_day else shown(moment)

    return when(payload["at_a"]), when(payload["at_b"])


def _side(row: dict[str, Any], side: str) -> str:
    """A side's cell: its position, ``not ranked``, or ``-`` when not searched there."""
    if row[f"searched_{side}"] is None:
        return "-"
    return latest_text(row[side], False, None) if row[side] is not None else "not ranked"
