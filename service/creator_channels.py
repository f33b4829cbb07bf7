"""Handlers of the creator-watch channels: writes to the ``CreatorWatchActor``, reads from
``projections.creators`` on settled views."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pykka

from actors.creator_watch import CreatorWatchActor
from domain.creator_commands import (
    AddCreator,
    CreatorHistory,
    ListCreators,
    RemoveCreator,
    UpdateCreator,
)
from projections import creators as queries

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class CreatorChannels:
    """Creator commands as actor calls and read queries."""

    def __init__(self, watch: pykka.ActorProxy[CreatorWatchActor],
                 read: Callable[[], AbstractContextManager[sqlite3.Connection]],
                 settle: Callable[[], None]) -> None:
        self._watch = watch
        self._read = read
        self._settle = settle

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        w = self._watch
        return {
            AddCreator: lambda c: w.add(c).get(timeout=TIMEOUT),
            UpdateCreator: lambda c: w.update(c).get(timeout=TIMEOUT),
            RemoveCreator: lambda c: w.remove(c).get(timeout=TIMEOUT),
            ListCreators: lambda c: self._query(queries.creators, c.include_removed),
            CreatorHistory: lambda c: self._query(
                queries.creator_history, w.creator_id(c.name).get(timeout=TIMEOUT), c.limit),
        }

    def _query(self, read: Callable[..., Any], *args: Any) -> Any:
        self._settle()
        with self._read() as conn:
            return read(conn, *args)
