"""Rendering: rich tables on a terminal, JSON with ``--json``, one-line errors on stderr."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from domain.results import Ack
from entrypoints.cli.formats import (
    MAX_WIDTH,
    human,
    pick_columns,
    printable,
    rendering,
    short,
    write_csv,
    write_nl,
)

T = TypeVar("T")

# Exit codes of every command (README: "Exit codes").
EXIT_OK = 0  # it did what was asked
EXIT_NOT_DONE = 1  # it ran, but did not (fully) do what was asked: a failed load or search
EXIT_BAD_INPUT = 2  # the input was refused; nothing was written
ProgressReport = Callable[[int, int], None]



class SafeConsole(Console):
    """A rich console whose printed strings have their control characters escaped
    (``printable``): what vipb prints for people may hold text from the web. Rich's own
    styling is added after, so colours still work; tables escape their cells (``human``)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """``Console.print``, strings escaped first."""
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects),
                      **kwargs)


# Off a terminal (pipes, CI logs) rich would assume 80 columns and fold every cell.
out = SafeConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = SafeConsole(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 250)


def to_data(value: Any) -> Any:
    """Models and lists of models as plain JSON-ready data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Write ``value`` as JSON to stdout (one document)."""
    sys.stdout.write(json.dumps(to_data(value), indent=2, default=str) + "\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None,
                title: str | None = None, whole: bool = False) -> None:
    """Rows as aligned columns under a header, ids short, free text cut to fit 80 columns
    (``whole``: not cut); an empty result says so."""
    if not rows:
        out.print(f"(no {title or 'rows'})", markup=False)
        return
    cols = list(columns or rows[0].keys())
    cells = [[human(row.get(c)) for c in cols] for row in rows]
    headers = list(cols)
    limits: dict[str, int | None] = {c: None for c in cols}
    if not whole:
        headers = _zones_to_headers(cols, cells)
        limits = fitted(headers, cells, screen_width())
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False,
                  header_style="bold")
    for header in headers:
        limit = limits[header]
        table.add_column(header, overflow="ellipsis" if limit else "fold", max_width=limit,
                         no_wrap=limit is not None)
    for row_cells in cells:
        table.add_row(*row_cells)
    with out.capture() as captured:
        out.print(table)
    for line in captured.get().splitlines():  # no trailing blanks after the last column
        out.print(line.rstrip(), markup=False, highlight=False)


_ZONED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?) (\S+)$")


def _zones_to_headers(cols: list[str], cells: list[list[str]]) -> list[str]:
    """A column of times all in one zone names the zone once, in its header
    (``queued_at (CET)``), and its cells drop it; ``cells`` are changed in place."""
    headers = list(cols)
    for i, col in enumerate(cols):
        found = [_ZONED.match(line[i]) for line in cells if line[i]]
        zones = {m.group(2) for m in found if m}
        if found and all(found) and len(zones) == 1:
            headers[i] = f"{col} ({zones.pop()})"
            for line in cells:
                line[i] = line[i].rsplit(" ", 1)[0] if line[i] else line[i]
    return headers


def print_record(record: dict[str, Any]) -> None:
    """Key/value lines for one record (ids whole: a record is where people copy them); a
    long value wraps under itself, between words (a URL or an id stays whole)."""
    width = max(len(k) for k in record) if record else 0
    for key, value in record.items():
        print_hanging(f"{key.ljust(width)}  ", human(value, full_ids=True))


def print_hanging(head: str, text: str, rest: str | None = None) -> None:
    """``head`` then ``text`` wrapped to the screen's width between words, further lines
    indented as far as ``head`` reaches (or starting with ``rest``)."""
    lines = textwrap.wrap(text, max(20, screen_width() - len(head)), break_long_words=False,
                          break_on_hyphens=False) or [""]
    indent = " " * len(head) if rest is None else rest
    for index, line in enumerate(lines):
        out.print(f"{head if index == 0 else indent}{line}".rstrip(), highlight=False,
                  markup=False)


def screen_width() -> int:
    """How wide people read: the terminal's width, else ``COLUMNS``, else 80 (output piped
    to a pager or a file still reads on a terminal later)."""
    if sys.stdout.isatty():
        return out.width
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 80


def fitted(cols: Sequence[str], cells: Sequence[Sequence[str]], width: int
           ) -> dict[str, int | None]:
    """Widths that fit ``cells`` into ``width`` columns: each column's own cap
    (``MAX_WIDTH``), then the widest text column is cut (with an ellipsis) until the table
    fits. Ids, numbers, times and yes/no are never cut, nor any column below its header or
    10 characters; a table that cannot fit so stays wider."""
    natural = {c: max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(cols)}
    widths = {c: min(natural[c], MAX_WIDTH.get(c, natural[c])) for c in cols}
    floors = {c: widths[c] if all(_atomic(line[i]) for line in cells)
              else min(widths[c], max(len(c), 10)) for i, c in enumerate(cols)}
    room = width - 2 * (len(cols) - 1)  # two spaces between columns
    while sum(widths.values()) > room:
        cuttable = [c for c in cols if widths[c] > floors[c]]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda c: widths[c])
        widths[widest] -= 1
    return {c: widths[c] if widths[c] < natural[c] or c in MAX_WIDTH else None for c in cols}


_ATOMIC = re.compile(r"^(|-|[0-9a-f]{8}|[-+]?[0-9.,%#]+[a-z]*|yes|no|#\d+|"
                     r"\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?( [A-Za-z0-9+-]+)?)$")


def _atomic(cell: str) -> bool:
    """A cell cut short would mean nothing: a short id, a number, a time, yes/no."""
    return bool(_ATOMIC.match(cell))


def emit(value: Any, as_json: bool, columns: Sequence[str] | None = None,
         title: str | None = None, said: str | None = None) -> None:
    """Render a result in the chosen format (see ``formats``): JSON, CSV or JSON lines for
    scripts; for people ``said`` (a sentence) if given, else a table for lists and key/value
    lines for one record."""
    choice = rendering()
    data = pick_columns(to_data(value), choice.columns)
    fmt = "json" if as_json else choice.fmt
    if fmt == "json":
        print_json(data)
    elif fmt == "csv":
        write_csv(data, choice.columns or None)
    elif fmt == "nl":
        write_nl(data)
    elif said is not None and not choice.columns:
        out.print(said, markup=False, highlight=False)
    elif isinstance(value, Ack) and not choice.columns:
        out.print(f"{'done' if value.changed else 'no change'} ({short(value.id)})",
                  markup=False, highlight=False)
    elif isinstance(data, list):
        print_table(data, choice.columns or columns, title, whole=bool(choice.columns))
    elif isinstance(data, dict):
        print_record(data)
    else:
        out.print(str(data), markup=False)


def said(ack: Ack, done: str, unchanged: str) -> str:
    """The sentence for an acknowledgement: what was done, or that nothing changed."""
    return done if ack.changed else unchanged


def fail(message: str) -> None:
    """Print a one-line error to stderr."""
    err.print(f"vipb: error: {message}", markup=False, highlight=False)


def with_progress(label: str, work: Callable[[ProgressReport | None], T], quiet: bool) -> T:
    """Run ``work(report)`` with a transient progress bar on stderr when it is a terminal
    (and not ``quiet``, e.g. for ``--json``); ``work(None)`` otherwise."""
    if quiet or not sys.stderr.isatty():
        return work(None)
    # counts and a rate, not a pulse: "validating ━━━━━━╸━━━ 61/100 · 12.3/s · 0:00:03"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("·"), _RateColumn(), TextColumn("·"), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=err) as bar:
        task = bar.add_task(label, total=None)
        return work(lambda done, total: bar.update(task, completed=done, total=total))


class _RateColumn(ProgressColumn):
    """Items per second so far."""

    def render(self, task: Task) -> Text:
        """The task's speed, or a dash before it has one."""
        speed = task.finished_speed or task.speed
        return Text("-/s" if speed is None else f"{speed:.1f}/s")



def exit_not_done(done: bool) -> None:
    """End the command with ``EXIT_NOT_DONE`` (after its output) unless ``done``."""
    if not done:
        raise typer.Exit(EXIT_NOT_DONE)
