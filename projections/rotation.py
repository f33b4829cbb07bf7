"""The ``rotation_config`` table: the current strategy and its parameters (one row)."""

from __future__ import annotations

import json
from typing import ClassVar

from projections.sql import Cursor, upsert
from projections.view import EventRecord, Handler, View


class RotationView(View):
    """Maintains ``rotation_config``."""

    name: ClassVar[str] = "rotation"
    tables: ClassVar[tuple[str, ...]] = ("rotation_config",)

    def create(self, cur: Cursor) -> None:
        """Create ``rotation_config``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS rotation_config (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                strategy TEXT NOT NULL,
                params TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """RotationConfigCreated and RotationStrategySet both set the row."""
        return {"RotationConfigCreated": self._set, "RotationStrategySet": self._set}

    def _set(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(
            upsert("rotation_config", ("id", "strategy", "params", "updated_at"), ("id",)),
            (1, rec.state["strategy"], json.dumps(rec.state["params"], sort_keys=True),
             rec.timestamp),
        )
