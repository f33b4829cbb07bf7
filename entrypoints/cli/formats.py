"""Output formats of the reads, as sqlite-utils does them: a table for people, ``--json``,
``--csv``, ``--nl`` (one JSON object per line) for scripts, and ``-c/--column`` to pick
columns in any of them.

``@tabular`` adds ``--csv``, ``--nl`` and ``-c`` to a command whose output goes through
``emit``; the choice travels in a context variable, so command bodies stay unchanged. Tables
show ids short (the first 8 characters; every id argument takes a unique prefix) and fit 80
columns for everyday values; machine formats keep full ids.
"""

from __future__ import annotations

import csv
import functools
import inspect
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import typer

from domain.errors import ValidationError
from entrypoints.cli.zones import shown

F = TypeVar("F", bound=Callable[..., Any])
SHORT_ID = 8
# Free-text columns are cut (with an ellipsis) at these widths in tables, so that a row stays
# one line in 80 columns; -c shows a picked column whole, and the machine formats always do.
# Names people type back (domains, keywords, names) are never cut.
MAX_WIDTH = {"url": 26, "title": 18, "host": 18, "label": 12, "timezone": 16, "event": 20,
             "note": 20, "layouts": 30, "problem": 20, "error": 24, "reason": 16,
             "endpoint": 26, "last_keyword": 16, "value": 24, "source": 22, "cron": 13,
             "exit_ip": 15, "failure": 14, "message": 28, "last_error": 20, "target": 20,
             "filters": 20}
_UTC_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d)(?:\.\d+)?(?:\+00:00|Z)$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Rendering:
    """How the current command prints its result."""

    fmt: str = "table"  # table, json, csv or nl
    columns: tuple[str, ...] = ()
    raw_csv: bool = False  # CSV cells as they are (no quote before a formula's first sign)

    @property
    def for_people(self) -> bool:
        """A table or key/value lines (extra human-only lines may be printed)."""
        return self.fmt == "table"


_rendering: ContextVar[Rendering] = ContextVar(
    "vipb_rendering", default=Rendering())  # noqa: B039 - frozen, hence immutable


def rendering() -> Rendering:
    """The current command's output choice."""
    return _rendering.get()


def _split(columns: Sequence[str]) -> list[str]:
    return [c.strip() for item in columns for c in item.split(",") if c.strip()]


def tabular(func: F) -> F:
    """Give a read command ``--csv``, ``--nl`` and ``-c/--column`` (beside its ``--json``)."""
    signature = inspect.signature(func)
    extra = [
        inspect.Parameter("as_csv", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--csv", help="Print CSV: a header "
                                               "row, then one row per item (full ids).")),
        inspect.Parameter("as_nl", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--nl", help="Print one JSON object "
                                               "per line (newline-delimited JSON).")),
        inspect.Parameter("raw_csv", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=typer.Option(False, "--raw-csv", help="With --csv: cells "
                                               "exactly as stored, also those a spreadsheet "
                                               "would run as a formula (= + - @).")),
        inspect.Parameter("pick", inspect.Parameter.KEYWORD_ONLY, annotation=list[str],
                          default=typer.Option([], "-c", "--column", metavar="NAME",
                                               help="Only these columns, in this order "
                                               "(repeat the option or separate with commas).")),
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, as_csv: bool = False, as_nl: bool = False,
                raw_csv: bool = False, pick: Sequence[str] = (), **kwargs: Any) -> Any:
        chosen = [name for name, on in (("--json", kwargs.get("as_json", False)),
                                        ("--csv", as_csv), ("--nl", as_nl)) if on]
        if len(chosen) > 1:
            raise ValidationError(f"choose one of {' and '.join(chosen)}", field="format")
        fmt = {"--json": "json", "--csv": "csv", "--nl": "nl"}.get(chosen[0] if chosen else "",
                                                                   "table")
        token = _rendering.set(Rendering(fmt, tuple(_split(pick)), raw_csv))
        try:
            return func(*args, **kwargs)
        finally:
            _rendering.reset(token)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra])
    wrapper.__annotations__ = {**func.__annotations__, "as_csv": bool, "as_nl": bool,
                               "raw_csv": bool, "pick": list[str]}
    return wrapper  # type: ignore[return-value]


def pick_columns(data: Any, columns: Sequence[str]) -> Any:
    """Keep only ``columns`` (in that order) of a record or of each row; an unknown name is
    refused with the names there are."""
    if not columns:
        return data
    rows = data if isinstance(data, list) else [data]
    known: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            known.extend(k for k in row if k not in known)
    unknown = [c for c in columns if c not in known]
    if unknown and known:
        raise ValidationError(f"no column {unknown[0]!r} (columns: {', '.join(known)})",
                              field="column")
    picked = [{c: row.get(c) for c in columns} if isinstance(row, dict) else row
              for row in rows]
    return picked if isinstance(data, list) else picked[0]


def cell(value: Any) -> str:
    """A value as one CSV or table cell (lists and objects as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def short(value: Any, full_ids: bool = False) -> Any:
    """A value as a table shows it: a UUID as its first 8 characters (unless
    ``full_ids``), a UTC timestamp in the display zone with the zone's name, to the minute
    in tables (to the second in records), a flag as yes/no; anything else unchanged."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if _UUID.match(value):
            return value if full_ids else value[:SHORT_ID]
        if _UTC_STAMP.match(value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return shown(moment, seconds=full_ids)  # in the display zone, named
    return value


# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the bidi
# overrides and isolates that reorder what a terminal shows: text from the web (a result
# title, a page's error) could otherwise set the window title, clear the screen, plant an
# OSC 8 link or disguise a line. Shown as \x1b, \u202e, ... instead.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: control characters escaped (JSON output keeps
    them exact, as ``\u001b``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def human(value: Any, full_ids: bool = False) -> str:
    """A value as people read it in a table cell or a record line: ``short`` scalars,
    lists comma-separated (empty: a dash), objects as ``key: value`` pairs."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {human(v, full_ids)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        if not value:
            return "-"
        if all(isinstance(v, dict) for v in value):
            return "; ".join(" ".join(human(x, full_ids) for x in v.values() if x is not None)
                             for v in value)
        return ", ".join(human(v, full_ids) for v in value)
    return printable(str(short(value, full_ids)))


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV Injection"):
# =HYPERLINK(...) from a page title, =cmd|'/C calc'!A0 from a keyword.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def defused(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a
    leading ``'`` (numbers such as ``-3`` stay numbers)."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(data: Any, columns: Sequence[str] | None = None, raw: bool | None = None) -> str:
    """Rows (or one record) as CSV: every key of the rows unless ``columns``; lists and
    objects as compact JSON; cells that would start a formula ``defused`` unless ``raw``
    (default: the command's ``--raw-csv``)."""
    raw = rendering().raw_csv if raw is None else raw
    rows = data if isinstance(data, list) else [data]
    rows = [r if isinstance(r, dict) else {"value": r} for r in rows]
    names: list[str] = list(columns or [])
    if not names:
        for row in rows:
            names.extend(k for k in row if k not in names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        cells = [cell(row.get(n)) for n in names]
        writer.writerow(cells if raw else [defused(c) for c in cells])
    return buffer.getvalue()


def write_csv(data: Any, columns: Sequence[str] | None = None) -> None:
    """``csv_text`` on stdout."""
    sys.stdout.write(csv_text(data, columns))


def write_nl(data: Any) -> None:
    """One compact JSON document per row (a record: one line)."""
    for row in data if isinstance(data, list) else [data]:
        sys.stdout.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
