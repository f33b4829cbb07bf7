"""Compare read models with the same views recomputed from the events (``vipb projections
verify``): a views database edited by hand (a forged report) or a projection bug shows as
the first table and row that differ."""

from __future__ import annotations

from dataclasses import dataclass

from projections.sql import Connection

_BOOKKEEPING = ("projection_tracking", "projection_source", "sqlite_sequence")


@dataclass(frozen=True)
class Difference:
    """The first difference found: in ``table``, a row only in the live views (``live``)
    or only in the recomputed ones (``recomputed``), or a table missing on one side."""

    table: str
    live: tuple[object, ...] | None
    recomputed: tuple[object, ...] | None
    note: str = ""

    def describe(self) -> str:
        """One line for people."""
        if self.note:
            return f"{self.table}: {self.note}"
        if self.live is not None:
            return f"{self.table}: the live views hold a row the events do not make: {self.live!r}"
        return f"{self.table}: a row the events make is missing from the live views: " \
               f"{self.recomputed!r}"


def tables_of(conn: Connection) -> list[str]:
    """The read tables of an SQLite views database (bookkeeping left out)."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                        "ORDER BY name").fetchall()
    return [str(r[0]) for r in rows if str(r[0]) not in _BOOKKEEPING]


def _rows(conn: Connection, table: str) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{table}"').fetchall()),
                  key=repr)


def first_difference(live: Connection, recomputed: Connection) -> Difference | None:
    """The first table (by name) whose rows differ between ``live`` and ``recomputed``
    views, with the first differing row; None when every table holds the same rows."""
    live_tables, made_tables = set(tables_of(live)), set(tables_of(recomputed))
    for table in sorted(live_tables | made_tables):
        if table not in live_tables:
            return Difference(table, None, None, "missing from the live views")
        if table not in made_tables:
            return Difference(table, None, None, "not a table vipb makes")
        ours, theirs = _rows(live, table), _rows(recomputed, table)
        if ours == theirs:
            continue
        only_live = [r for r in ours if r not in theirs]
        only_made = [r for r in theirs if r not in ours]
        if only_live:
            return Difference(table, only_live[0], None)
        if only_made:
            return Difference(table, None, only_made[0])
        return Difference(table, None, None, "the same rows, a different number of times")
    return None
