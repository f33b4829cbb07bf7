"""Rendering: rich tables on a terminal, JSON with ``--json``, one-line errors on stderr."""

from __future__ import annotations

import json
import sys
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
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False,
                  header_style="bold")
    for col in cols:
        limit = None if whole else MAX_WIDTH.get(col)
        table.add_column(col, overflow="ellipsis" if limit else "fold", max_width=limit,
                         no_wrap=limit is not None)
    for row in rows:
        table.add_row(*(human(row.get(c)) for c in cols))
    with out.capture() as captured:
        out.print(table)
    for line in captured.get().splitlines():  # no trailing blanks after the last column
        out.print(line.rstrip(), markup=False, highlight=False)


def print_record(record: dict[str, Any]) -> None:
    """Key/value lines for one record (ids whole: a record is where people copy them)."""
    width = max(len(k) for k in record) if record else 0
    for key, value in record.items():
        out.print(f"{key.ljust(width)}  {human(value, full_ids=True)}".rstrip(), highlight=False,
                  markup=False)


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
