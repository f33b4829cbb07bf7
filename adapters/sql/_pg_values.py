"""How values cross between PostgreSQL and our SQLite-shaped code (loaded with the first
PostgreSQL connection, see ``_pg.configure``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader


class BoolAsInt(Dumper):
    """``True``/``False`` -> 1/0 as int8 (our flag columns are integers, as in SQLite)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class NumericAsNumber(Loader):
    """``numeric`` -> int when whole, else float (``SUM``/``AVG`` as SQLite returns them)."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)
