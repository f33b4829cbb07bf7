"""Big inputs sent in parts (proxy and keyword imports): each part one command, waiting out
the host's rate limit between parts instead of failing half-way."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from domain.commands import Command
from domain.errors import RateLimitError, ValidationError
from entrypoints.cli.output import err


def execute_patiently(commands: Any, command: Command) -> Any:
    """Run ``command``; when a running host says to wait (its per-client rate limit),
    say so on stderr, wait, and try again."""
    while True:
        try:
            return commands.execute(command)
        except RateLimitError as exc:
            err.print(f"rate limited by the host; continuing in {exc.retry_after:.0f}s",
                      markup=False)
            time.sleep(exc.retry_after)


def read_input(path: Path, stdin: Any) -> bytes:
    """The bytes of ``path`` ('-': ``stdin``'s), or a one-line error naming the file."""
    if str(path) == "-":
        data: bytes = stdin.buffer.read()
        return data
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="file") from None
