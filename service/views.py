"""Read queries as channels run them: settle the views first, then query a read-only
connection."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from projections.sql import Connection

Reader = Callable[[], AbstractContextManager[Connection]]


class SettledReads:
    """``query(fn, *args)``: ``fn(conn, *args)`` on views that have reached the store head."""

    def __init__(self, read: Reader, settle: Callable[[], None]) -> None:
        self._read = read
        self._settle = settle

    def query(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Settle, then run ``fn`` on a read-only connection."""
        self._settle()
        with self._read() as conn:
            return fn(conn, *args)
