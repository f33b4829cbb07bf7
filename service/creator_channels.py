"""Handlers of the creator-watch channels: writes to the ``CreatorWatchActor``, reads from
``projections.creators`` on settled views."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pykka

from actors.creator_runner import CreatorRunner
from actors.creator_watch import CreatorWatchActor
from domain import rules
from domain.creator_commands import (
    AddCreator,
    CheckCreator,
    CreatorHistory,
    ListCreators,
    RemoveCreator,
    UpdateCreator,
)
from domain.egress import EgressPolicy
from projections import creators as queries
from projections.sql import Connection
from service.views import SettledReads

Handler = Callable[[Any], Any]
TIMEOUT = 300.0


class CreatorChannels:
    """Creator commands as actor calls and read queries."""

    def __init__(self, watch: pykka.ActorProxy[CreatorWatchActor],
                 read: Callable[[], AbstractContextManager[Connection]],
                 settle: Callable[[], None], runner: CreatorRunner,
                 egress: EgressPolicy) -> None:
        self._watch = watch
        self._reads = SettledReads(read, settle)
        self._runner = runner
        self._egress = egress

    def handlers(self) -> dict[type[Any], Handler]:
        """Command type -> handler."""
        w = self._watch
        return {
            AddCreator: lambda c: w.add(self._public(c)).get(timeout=TIMEOUT),
            UpdateCreator: lambda c: w.update(self._public(c)).get(timeout=TIMEOUT),
            CheckCreator: self._run_check,
            RemoveCreator: lambda c: w.remove(c).get(timeout=TIMEOUT),
            ListCreators: lambda c: self._reads.query(queries.creators, c.include_removed),
            CreatorHistory: lambda c: self._reads.query(
                queries.creator_history, w.creator_id(c.name).get(timeout=TIMEOUT), c.limit),
        }

    def _public(self, command: AddCreator | UpdateCreator) -> AddCreator | UpdateCreator:
        """Refuse a page vipb may not reach directly (the tabs' rule: no private address
        unless allowed)."""
        if command.url is not None:
            rules.require_public_target(command.url, self._egress, "url")
        return command

    def _run_check(self, command: CheckCreator) -> dict[str, Any]:
        """Check in this (dispatcher) thread, so the watch actor stays free."""
        return self._runner.check_now(command.name, command.profile, command.proxy,
                                      command.country)
