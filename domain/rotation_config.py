"""The ``RotationConfig`` singleton aggregate: which strategy picks proxies, with which params."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import named_id

ROTATION_CONFIG_ID = named_id("singleton", "rotation-config")


class RotationConfig(Aggregate):
    """The pool's rotation strategy; one per data dir (fixed id)."""

    @staticmethod
    def create_id(strategy: str, params: dict[str, Any]) -> UUID:
        """The singleton always has the same id."""
        return ROTATION_CONFIG_ID

    @event("RotationConfigCreated")
    def __init__(self, strategy: str, params: dict[str, Any]) -> None:
        self.strategy = strategy
        self.params = dict(params)

    def set_strategy(self, strategy: str, params: dict[str, Any]) -> None:
        """Switch strategy (or params); setting the same again records nothing."""
        if strategy == self.strategy and params == self.params:
            return
        self._strategy_set(strategy=strategy, params=params)

    @event("RotationStrategySet")
    def _strategy_set(self, strategy: str, params: dict[str, Any]) -> None:
        self.strategy = strategy
        self.params = dict(params)
