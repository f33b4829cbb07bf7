"""Secrets read from stdin or a file, never from the command line (which ``ps`` and shell
history show)."""

from __future__ import annotations

import sys
from pathlib import Path

from domain.errors import ValidationError


def first_line(text: str, empty: str, field: str) -> str:
    """The first line of ``text`` without its line ending; an empty one is refused with the
    message ``empty`` (a mistake, never "no secret")."""
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line:
        raise ValidationError(empty, field=field)
    return line


def read_stdin_secret(enabled: bool, field: str, flag: str) -> str | None:
    """The first stdin line when ``enabled`` (the ``flag`` option was given), else None."""
    if not enabled:
        return None
    line = sys.stdin.readline()
    if not line:
        raise ValidationError(f"{flag} given but stdin is empty", field=field)
    return first_line(line, f"{flag} read an empty line", field)


def read_secret_file(path: Path | None, field: str) -> str | None:
    """The first line of ``path`` ('-': stdin), or None when no path is given."""
    if path is None:
        return None
    if str(path) == "-":
        return read_stdin_secret(True, field, "stdin")
    try:
        text = path.expanduser().read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}", field=field) from None
    return first_line(text, f"the first line of {path} is empty", field)
