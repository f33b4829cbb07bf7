"""Keyword CSV files: what ``vipb rank keyword import`` reads and ``export`` writes.

A header row names the columns (any order, any case; separated by commas, or by semicolons or
tabs as spreadsheets save them in many locales); ``keyword`` is required, the others
(``engine``, ``country``, ``device``, ``depth``, ``location``, ``language``,
``any_exit_country``) default as ``rank keyword add`` does. Blank lines and lines starting
with ``#`` are skipped. Every other row becomes an ``AddKeyword`` or an error naming its line,
so one bad row never stops the others.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.rank_commands import AddKeyword

COLUMNS = ("keyword", "engine", "country", "device", "depth", "location", "language",
           "any_exit_country")
MAX_FILE_BYTES = 16 * 1024 * 1024  # about 200,000 keywords: far beyond what a host searches
_TRUE = {"1", "true", "yes", "y", "any"}
_FALSE = {"", "0", "false", "no", "n", "own"}


def _column(cell: str) -> str:
    """A header cell as a column name (case, spaces and a spreadsheet's BOM dropped)."""
    return cell.strip().lower().lstrip("\ufeff")


def _header(row: list[str]) -> list[str]:
    names = [_column(name) for name in row]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ValidationError(f"unknown column {unknown[0]!r} in the header row; columns: "
                               + ", ".join(COLUMNS), field="file")
    if "keyword" not in names:
        raise ValidationError("the header row must name a 'keyword' column (and any of "
                               + ", ".join(COLUMNS[1:]) + ")", field="file")
    if len(set(names)) != len(names):
        raise ValidationError("a column is named twice in the header row", field="file")
    return names


def _delimiter(text: str) -> str:
    """``,`` or, for files that spreadsheets in many European locales save, ``;`` (or a tab):
    the separator that makes the header row (the first line that is not blank or ``#``) name
    a ``keyword`` column."""
    header = next((line for line in text.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")), "")
    for delimiter in (",", ";", "\t"):
        names = [_column(name.strip().strip('"')) for name in header.split(delimiter)]
        if "keyword" in names:
            return delimiter
    return ","


def _fields(names: list[str], row: list[str]) -> dict[str, Any]:
    """One row's cells as AddKeyword's fields (empty cells: the defaults)."""
    if len(row) > len(names):
        raise ValidationError(f"has {len(row)} cells, the header {len(names)}", field="row")
    fields: dict[str, Any] = {}
    for name, cell in zip(names, row, strict=False):
        value = cell.strip()
        if name == "any_exit_country":
            if value.lower() not in _TRUE | _FALSE:
                raise ValidationError("must be true or false", field=name)
            fields[name] = value.lower() in _TRUE
        elif value:
            fields[name] = value.upper() if name == "country" else value
    if "depth" in fields:
        try:
            fields["depth"] = int(fields["depth"])
        except ValueError:
            raise ValidationError("must be a whole number (1..100)", field="depth") from None
    return fields


def read_keyword_rows(raw: bytes, default_engine: str = "duckduckgo"
                      ) -> tuple[list[tuple[int, AddKeyword]], list[dict[str, Any]]]:
    """The keywords of a CSV file with their line numbers (a row without an engine takes
    ``default_engine``), and the lines that failed
    (``{"line": n, "error": "field: reason"}``). Raises ``ValidationError`` (field
    ``file``) when the file cannot be read at all."""
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                               field="file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"is not UTF-8 text (byte {exc.start + 1})",
                               field="file") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    names: list[str] | None = None
    rows: list[tuple[int, AddKeyword]] = []
    errors: list[dict[str, Any]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if names is None:
                names = _header(row)
                continue
            try:
                fields = {"engine": default_engine, **_fields(names, row)}
                rows.append((line, parse_command(AddKeyword, fields)))
            except ValidationError as exc:
                errors.append({"line": line, "error": str(exc)})
    except csv.Error as exc:
        raise ValidationError(f"line {reader.line_num}: {exc}", field="file") from None
    if names is None:
        raise ValidationError("is empty: it needs a header row (keyword,engine,country,...) "
                               "and one row per keyword", field="file")
    return rows, errors


def keyword_csv(rows: list[dict[str, Any]]) -> str:
    """Tracked keywords (as ``rank keyword list`` has them) as a CSV file that
    ``read_keyword_rows`` reads back to the same keywords."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([
            "" if row.get(name) is None
            else ("true" if row[name] else "false") if name == "any_exit_country"
            else row[name] for name in COLUMNS])
    return buffer.getvalue()
