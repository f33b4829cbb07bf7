"""Read queries as channels run them: settle the views first, then query a read-only
connection."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from domain.errors import ViewsRebuiltError
from projections.sql import Connection

Reader = Callable[[], AbstractContextManager[Connection]]


class SettledReads:
    """``query(fn, *args)``: ``fn(conn, *args)`` on views that have reached the store head."""

    def __init__(self, read: Reader, settle: Callable[[], None]) -> None:
        self._read = read
        self._settle = settle

    def query(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Settle, then run ``fn`` on a read-only connection (once more when the views had
        to be rebuilt under it: the answer is then whole)."""
        for again in (True, False):
            self._settle()
            try:
                with self._read() as conn:
                    return fn(conn, *args)
            except ViewsRebuiltError:
                if not again:
                    raise
        raise AssertionError("unreachable")
